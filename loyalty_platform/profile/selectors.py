import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from loyalty_platform.campaigns.boosts import boost_text, campaigns_on_display
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core.money import money_text
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.models import QrLoginSession
from loyalty_platform.profile.history import entry_titles, history_days, history_lines
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.selectors import (
    NOTHING_EXPIRING,
    ExpiringPoints,
    active_programs,
    card_balances,
    points_expiring_soon,
)
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.selectors import collectable_receptions
from loyalty_platform.rewards.services import reward_catalog
from loyalty_platform.shops.models import Shop
from loyalty_platform.stored_value.models import PrepaidAccount
from loyalty_platform.tiers.selectors import customer_tier
from loyalty_platform.tiers.services import customer_tier_progress
from loyalty_platform.verification.services import customer_qr_payload, open_pins_for_customer
from loyalty_platform.vouchers.models import Voucher
from loyalty_platform.vouchers.services import voucher_refusal


def points_worth(points: int, program: Program, currency: str) -> str:
    from decimal import Decimal

    if not program.redeem_points_per_unit:
        return money_text(Decimal("0"), currency)
    return money_text(Decimal(points) / program.redeem_points_per_unit, currency)


def cards_payload(customer: Customer, *, expiring: ExpiringPoints | None = None) -> list[dict]:
    """The customer's cards in the active programs; a point card says what of its balance
    expires within 30 days (`expiring`, when the caller read it already)."""
    currency = connection.tenant.currency
    cards = {card.program_id: card for card in Card.objects.filter(customer=customer)}
    payload = []
    for kind, program in active_programs().items():
        card = cards.get(program.pk)
        balance = card.balance if card else 0
        item = {
            "program": program.name,
            "kind": kind,
            "card_number": card.card_number if card else None,
            "balance": balance,
        }
        if kind == Program.Kind.POINT:
            item["worth"] = points_worth(balance, program, currency)
            item["currency"] = currency
            item["min_redeem_points"] = program.min_redeem_points
            if expiring is None:
                expiring = points_expiring_soon(customer.pk, program=program) if card else NOTHING_EXPIRING
            item["points_expiring"] = expiring.as_json()
        else:
            item["stamps_per_card"] = program.stamps_per_card
            item["reward_name"] = program.reward_name
        payload.append(item)
    return payload


def coupons_payload(customer: Customer) -> list[dict]:
    now = timezone.now()
    coupons = Coupon.objects.filter(customer=customer, status=Coupon.Status.ACTIVE).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return [
        {
            "id": str(c.pk),
            "name": c.name,
            "qr_token": c.qr_token,
            "expires_at": c.expires_at.isoformat() if c.expires_at else None,
        }
        for c in coupons.order_by("issued_at")
    ]


def vouchers_payload(customer: Customer) -> list[dict]:
    """The customer's vouchers a till would accept now (a campaign's grant, a code staff gave)."""
    now = timezone.now()
    usable = (
        Voucher.objects.filter(customer=customer, status=Voucher.Status.ACTIVE)
        .select_related("promotion")
        .order_by("pk")
    )
    return [
        {
            "code": voucher.code,
            "title": voucher.promotion.title,
            "description": voucher.promotion.description,
            "valid_until": until.isoformat() if (until := voucher.promotion.valid_until) else None,
        }
        for voucher in usable
        if voucher_refusal(voucher, now=now) is None
    ]


def history_payload(customer: Customer, limit: int = 50) -> list[dict]:
    """The ledger's newest entries with their title in words (/me/api/history)."""
    entries = list(
        LedgerEntry.objects.filter(card__customer=customer)
        .select_related("card__program")
        .order_by("-pk")[:limit]
    )
    titles = entry_titles(entries)
    return [
        {
            "at": e.created_at.isoformat(),
            "program": e.card.program.name,
            "kind": e.card.program.kind,
            "cause": e.cause,
            "title": titles[e.pk],
            "delta": e.delta,
            "balance_after": e.balance_after,
        }
        for e in entries
    ]


def prepaid_payload(customer: Customer) -> dict | None:
    account = PrepaidAccount.objects.filter(customer=customer).first()
    if account is None:
        return None
    return {
        "balance": money_text(account.balance, account.currency),
        "currency": account.currency,
        "history": [
            {
                "at": e.created_at.isoformat(),
                "cause": e.cause,
                "amount": money_text(e.amount, account.currency),
                "balance_after": money_text(e.balance_after, account.currency),
            }
            for e in account.entries.order_by("-created_at")[:50]
        ],
    }


def profile_payload(customer: Customer) -> dict:
    return {
        "customer_code": customer.customer_code,
        "email": customer.email,
        "name": customer.name,
        "phone": customer.phone,
        "points_expiry_warnings": customer.points_expiry_warnings,
        "consents": {
            "terms_at": customer.consent_terms_at.isoformat(),
            "privacy_at": customer.consent_privacy_at.isoformat(),
            "marketing_at": customer.consent_marketing_at.isoformat()
            if customer.consent_marketing_at
            else None,
            "marketing_sms_at": customer.consent_sms_at.isoformat() if customer.consent_sms_at else None,
        },
    }


def qr_payload(customer: Customer) -> dict:
    qr = customer_qr_payload(organization=connection.tenant, customer=customer)
    return {"payload": qr.payload, "expires_at": qr.expires_at.isoformat()}


def expiry_context(customer: Customer) -> dict:
    """The profile's expiry notice and setting: the points expiring within 30 days and the
    day the first do (in the organization's time zone); the setting shows while the point
    program lets points expire."""
    program = active_programs().get(Program.Kind.POINT)
    expiring = points_expiring_soon(customer.pk, program=program) if program else NOTHING_EXPIRING
    day = expiring.expires_at.astimezone(organization_zone()).date() if expiring.expires_at else None
    return {
        "points_expiring": {"points": expiring.points, "day": day, "data": expiring},
        "expiry_setting": program is not None and program.points_expiry != Program.PointsExpiry.NEVER,
    }


@dataclass(frozen=True)
class CatalogueLine:
    """A reward of the catalogue as the customer's balance sees it: `covered` of its cost
    (for the progress bar: at most the cost), `points_needed` still missing, whether it can be
    taken in the profile (a reward that may be collected later, `allow_pre_redeem`), and the
    fresh idempotency key of its form (one per page view: a double submit sends it twice)."""

    reward: Reward
    affordable: bool
    points_needed: int
    covered: int
    can_take: bool
    form_key: uuid.UUID


@dataclass(frozen=True)
class ToCollect:
    """A reward taken for points, waiting at the till until `valid_until` (the day, in the
    organization's time zone; None: no limit)."""

    reception: RewardReception
    valid_until: date | None


def rewards_context(customer: Customer) -> dict:
    """The profile's reward catalogue (None without an active point program) and the
    rewards waiting at the till."""
    program = active_programs().get(Program.Kind.POINT)
    if program is None:
        return {"rewards": None, "to_collect": []}
    points = card_balances(customer.pk).get(Program.Kind.POINT, 0)
    catalogue = [
        CatalogueLine(
            reward=entry.reward,
            affordable=entry.affordable,
            points_needed=entry.points_needed,
            covered=min(points, entry.reward.required_credits),
            can_take=entry.reward.allow_pre_redeem,
            form_key=uuid.uuid4(),
        )
        for entry in reward_catalog(points=points)
    ]
    zone = organization_zone()
    days = program.reward_collect_days
    to_collect = [
        ToCollect(
            reception=reception,
            valid_until=(reception.created_at + timedelta(days=days)).astimezone(zone).date()
            if days
            else None,
        )
        for reception in collectable_receptions(customer)
    ]
    return {"rewards": {"points": points, "catalogue": catalogue}, "to_collect": to_collect}


def rewards_payload(customer: Customer) -> dict:
    """The catalogue and the rewards waiting at the till, as /me/api/rewards serves them
    (the catalogue null without an active point program)."""
    context = rewards_context(customer)
    rewards = context["rewards"]
    return {
        "points": rewards["points"] if rewards else 0,
        "catalogue": None
        if rewards is None
        else [
            {
                "id": line.reward.pk,
                "name": line.reward.name,
                "description": line.reward.description,
                "image": line.reward.image.url if line.reward.image else None,
                "required_credits": line.reward.required_credits,
                "affordable": line.affordable,
                "points_needed": line.points_needed,
                "can_take": line.can_take,
            }
            for line in rewards["catalogue"]
        ],
        "to_collect": [
            {
                "id": str(item.reception.pk),
                "reward": {"id": item.reception.reward_id, "name": item.reception.reward.name},
                "points": item.reception.points,
                "created_at": item.reception.created_at.isoformat(),
                "valid_until": item.valid_until.isoformat() if item.valid_until else None,
            }
            for item in context["to_collect"]
        ],
    }


def offers_context(customer: Customer) -> list[dict]:
    """The campaigns on now that apply to the customer (as a till's wallet shows them), with
    their boosts in words and the day the current occurrence ends."""
    zone = organization_zone()
    return [
        {
            "name": on.campaign.name,
            "description": on.campaign.description,
            "boosts": [boost_text(action) for action in on.boosts],
            "ends_on": on.occurrence.ends_at.astimezone(zone).date() if on.occurrence.ends_at else None,
        }
        for on in campaigns_on_display(at=timezone.now(), customer_id=customer.pk)
    ]


def _day(moment: str | None) -> date | None:
    """The day of an ISO moment in the organization's time zone (for "valid until ...")."""
    return datetime.fromisoformat(moment).astimezone(organization_zone()).date() if moment else None


def dashboard_context(customer: Customer) -> dict:
    organization = connection.tenant
    expiry = expiry_context(customer)
    return {
        **expiry,
        **rewards_context(customer),
        "offers": offers_context(customer),
        "customer": customer,
        "cards": cards_payload(customer, expiring=expiry["points_expiring"]["data"]),
        "coupons": [{**c, "valid_until": _day(c["expires_at"])} for c in coupons_payload(customer)],
        "vouchers": [{**v, "valid_until_day": _day(v["valid_until"])} for v in vouchers_payload(customer)],
        "history": history_days(history_lines(customer, limit=30)),
        "prepaid": prepaid_payload(customer),
        "qr": qr_payload(customer),
        "rotating_qr": organization.verification_preset == "strict",
        "pins": open_pins_for_customer(customer=customer),
        "tier": customer_tier_progress(customer),
    }


@dataclass(frozen=True)
class Wallet:
    """What a customer holds, as a till shows it: balances, their worth, and what can be used now."""

    customer: Customer
    points: int
    points_worth: str
    currency: str
    points_expiring: ExpiringPoints
    stamps: int
    tier: object
    coupons: list
    vouchers: list
    collectable_rewards: list
    affordable_rewards: list


def customer_wallet(customer: Customer, *, currency: str) -> Wallet:
    balances = card_balances(customer.pk)
    points = balances.get(Program.Kind.POINT, 0)
    point_program = active_programs().get(Program.Kind.POINT)
    now = timezone.now()
    vouchers = []
    for voucher in (
        Voucher.objects.filter(customer=customer, status=Voucher.Status.ACTIVE)
        .select_related("promotion")
        .order_by("pk")
    ):
        if voucher_refusal(voucher, now=now) is None:
            voucher.uses_left = max(0, voucher.promotion.uses_per_voucher - voucher.uses)
            vouchers.append(voucher)
    return Wallet(
        customer=customer,
        points=points,
        points_worth=points_worth(points, point_program, currency)
        if point_program
        else money_text(Decimal(0), currency),
        currency=currency,
        points_expiring=points_expiring_soon(customer.pk, program=point_program, now=now),
        stamps=balances.get(Program.Kind.STAMP, 0),
        tier=customer_tier(customer.pk),
        coupons=list(
            Coupon.objects.filter(customer=customer, status=Coupon.Status.ACTIVE)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by("issued_at")
        ),
        vouchers=vouchers,
        collectable_rewards=list(collectable_receptions(customer)),
        affordable_rewards=[entry.reward for entry in reward_catalog(points=points) if entry.affordable][:3],
    )


def qr_login_shop_name(session: QrLoginSession) -> str:
    """The name of the shop whose screen asks to sign in ("" when it named none)."""
    if session.shop_id is None:
        return ""
    return Shop.objects.filter(pk=session.shop_id).values_list("name", flat=True).first() or ""
