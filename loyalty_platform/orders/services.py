"""Orders and returns: points follow the basket. An order's points are fixed per line when it
is reported; a return takes back what the returned lines earned then, whatever the rules
say today."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty_platform.campaigns import events as campaign_events
from loyalty_platform.campaigns.boosts import (
    CampaignShare,
    LineReturn,
    boosts_at,
    boosts_claim,
    boosts_record,
    boosts_return,
    effect_shares,
)
from loyalty_platform.core import errors
from loyalty_platform.customers.blocks import refuse_blocked_customer, refuse_blocked_now, usable_card_balance
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.earning import Earning, LineInput, earning_compute
from loyalty_platform.orders.models import Order, OrderLine, OrderReturn, OrderReturnLine
from loyalty_platform.orders.selectors import active_earning_rules
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.selectors import active_program
from loyalty_platform.programs.services import (
    balance_updated_publish,
    card_get_or_create_locked,
    earned_record,
    ledger_post,
    points_redeemed_record,
)
from loyalty_platform.tiers.models import Tier
from loyalty_platform.tiers.selectors import customer_tier
from loyalty_platform.tiers.services import customer_tier_recalculate
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_spend
from loyalty_platform.webhooks import outbox, payloads
from tenants.limits import organization_writable_check
from tenants.models import Organization

ONE = Decimal("1")


def point_program_or_404() -> Program:
    program = active_program(Program.Kind.POINT)
    if program is None:
        raise errors.PROGRAM_NOT_FOUND(card_type="point")
    return program


def _check_currency(organization: Organization, currency: str) -> None:
    if currency != organization.currency:
        raise errors.CURRENCY_MISMATCH(currency=organization.currency)


@dataclass(frozen=True)
class Preview:
    earning: Earning
    tier: Tier | None
    point_balance: int | None

    @property
    def campaigns(self) -> tuple[CampaignShare, ...]:
        return effect_shares(self.earning.boosts)


def order_preview(
    *,
    organization: Organization,
    customer: Customer | None,
    currency: str,
    total: Decimal,
    lines: list[LineInput],
    paid_with_points: int = 0,
) -> Preview:
    """What the basket would earn now, for this customer (their tier, the campaigns for
    them), saving nothing."""
    _check_currency(organization, currency)
    program = point_program_or_404()
    tier = customer_tier(customer.pk) if customer else None
    now = timezone.now()
    earning = earning_compute(
        program=program,
        rules=active_earning_rules(),
        lines=lines,
        total=total,
        tier_multiplier=tier.points_multiplier if tier else ONE,
        paid_with_points=paid_with_points,
        at=now,
        boosts=boosts_at(customer_id=customer.pk if customer else None, at=now),
    )
    balance = None
    if customer is not None:
        balance = (
            Card.objects.filter(customer=customer, program=program).values_list("balance", flat=True).first()
            or 0
        )
    return Preview(earning=earning, tier=tier, point_balance=balance)


@dataclass(frozen=True)
class OrderOutcome:
    order: Order
    point_balance: int | None
    tier: Tier | None
    campaigns: tuple[CampaignShare, ...] = ()  # what each campaign's boosts added
    entries: tuple[LedgerEntry, ...] = ()  # posted on the customer's card: points paid with, earned


def order_create_check(
    *,
    organization: Organization,
    customer: Customer | None,
    currency: str,
    paid_with_points: int = 0,
    read_card: bool = True,
) -> None:
    """The refusals of an order that need no PIN (currency_mismatch, program_not_found,
    customer_code_required, below_minimum, insufficient_balance for the points paid with),
    from a plain read without locks: call it before the PIN step. order_create checks again
    under its lock. An order naming a blocked customer or a blocked point card is refused
    (customer_blocked, card_blocked): it would change their balance. With read_card=False
    (no PIN step: the order follows in the same transaction) an order paying no points
    does not read the card, order_create refuses a blocked one under its lock anyway."""
    _check_currency(organization, currency)
    program = point_program_or_404()
    if customer is None:
        if paid_with_points:
            raise errors.CUSTOMER_CODE_REQUIRED()
        return
    if paid_with_points and paid_with_points < program.min_redeem_points:
        raise errors.BELOW_MINIMUM(min_points=program.min_redeem_points)
    if not (paid_with_points or read_card):
        refuse_blocked_customer(customer)
        return
    balance = usable_card_balance(customer, program)
    if paid_with_points and not program.allow_negative_balance and balance < paid_with_points:
        raise errors.INSUFFICIENT_BALANCE()


def order_create(
    *,
    organization: Organization,
    external_id: str,
    customer: Customer | None,
    shop_id: int | None,
    currency: str,
    total: Decimal,
    lines: list[LineInput],
    paid_with_points: int = 0,
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
) -> OrderOutcome:
    """Record the order and credit its points (to the customer now, or to whoever claims the
    receipt). Points paid with are taken first: this order's points cannot pay for it.
    Campaign boosts on now for the customer (for everyone, without one) are part of the
    order's points and its ledger entry, with a CampaignBoost row each.
    Spends the verified PIN challenge; the customer's profile hears the new balances after
    commit."""
    _check_currency(organization, currency)
    program = point_program_or_404()
    if paid_with_points and customer is None:
        raise errors.CUSTOMER_CODE_REQUIRED()
    if paid_with_points and paid_with_points < program.min_redeem_points:
        raise errors.BELOW_MINIMUM(min_points=program.min_redeem_points)
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        tier = customer_tier(customer.pk) if customer else None
        earning = earning_compute(
            program=program,
            rules=active_earning_rules(),
            lines=lines,
            total=total,
            tier_multiplier=tier.points_multiplier if tier else ONE,
            paid_with_points=paid_with_points,
            at=now,
            boosts=boosts_at(customer_id=customer.pk if customer else None, at=now),
        )
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    external_id=external_id,
                    customer=customer,
                    shop_id=shop_id,
                    currency=currency,
                    total=total,
                    points_earned=earning.points,
                    visit_bonus_points=earning.visit_bonus,
                    tier_name=tier.name if tier else "",
                    tier_multiplier=earning.tier_multiplier,
                    paid_with_points=paid_with_points,
                    claim_expires_at=None if customer else now + timedelta(days=settings.RECEIPT_CLAIM_DAYS),
                    api_key_lookup_id=api_key_lookup_id,
                )
        except IntegrityError:
            raise errors.ORDER_EXISTS() from None
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                position=index,
                sku=item.line.sku,
                name=item.line.name,
                category=item.line.category,
                quantity=item.line.quantity,
                unit_price=item.line.unit_price,
                points_earned=item.points,
                bonus_points=item.bonus_points,
                multiplier=item.multiplier,
                excluded=item.excluded,
            )
            for index, item in enumerate(earning.lines)
        )
        if earning.boosts:
            boosts_record(
                effects=earning.boosts,
                customer_id=customer.pk if customer else None,
                external_id=external_id,
                order_id=order.pk,
            )
        balance = None
        posted = []
        if customer is not None:
            card = card_get_or_create_locked(customer_id=customer.pk, program=program)
            refuse_blocked_now(customer_id=customer.pk, card=card)
            if paid_with_points:
                paid = ledger_post(  # refuses to overdraw: insufficient_balance
                    card=card,
                    delta=-paid_with_points,
                    cause=LedgerEntry.Cause.REDEEM,
                    external_id=external_id,
                    api_key_lookup_id=api_key_lookup_id,
                    note=f"paid order {external_id}"[:255],
                )
                points_redeemed_record(
                    customer=customer, card=card, entry=paid, source="order", shop_id=shop_id
                )
                posted.append(paid)
            if earning.points:
                earned = ledger_post(
                    card=card,
                    delta=earning.points,
                    cause=LedgerEntry.Cause.ORDER,
                    external_id=external_id,
                    api_key_lookup_id=api_key_lookup_id,
                    note=f"order {external_id}"[:255],
                )
                earned_record(
                    customer=customer,
                    card=card,
                    entry=earned,
                    source="order",
                    shop_id=shop_id,
                    campaigns=effect_shares(earning.boosts),
                )
                tier = customer_tier_recalculate(customer_id=customer.pk, now=now)
                posted.append(earned)
            balance = card.balance
            if paid_with_points or earning.points:
                balance_updated_publish(customer_id=customer.pk)
            campaign_events.purchase_recorded(customer_id=customer.pk, external_id=external_id)
        outbox.event_record(
            "order.created",
            customer_id=customer.pk if customer else None,
            data=payloads.order_created(
                order, customer_code=customer.customer_code if customer else None, balance=balance
            ),
        )
        return OrderOutcome(
            order=order,
            point_balance=balance,
            tier=tier,
            campaigns=effect_shares(earning.boosts),
            entries=tuple(posted),
        )


def _order_entries(card, order_external_id: str) -> dict[str, LedgerEntry]:
    """The order's own entries on the card by cause (its points paid with, its points
    earned): a return takes back from the lot the order opened, a refund puts the points
    back into the lots the payment drew from (programs.lots)."""
    entries = LedgerEntry.objects.filter(
        card=card,
        external_id=order_external_id,
        cause__in=[LedgerEntry.Cause.REDEEM, LedgerEntry.Cause.ORDER],
    ).order_by("pk")
    return {entry.cause: entry for entry in entries}  # the newest of each cause


def _points_back(line: OrderLine, returned_quantity: Decimal) -> int:
    """Points due back once `returned_quantity` of the line is returned in all: the same
    share of what the line earned, and all of it for the whole line."""
    if returned_quantity >= line.quantity:
        return line.points_earned
    share = Decimal(line.points_earned) * returned_quantity / line.quantity
    return int(share.quantize(ONE, rounding=ROUND_HALF_UP))


def _return_plan(
    order_lines: list[OrderLine], requested: list[tuple[str, Decimal]] | None
) -> dict[int, Decimal]:
    """Quantities to return per line position; refuses SKUs not in the order and more than
    is left to return. Several lines of one SKU are used up in their order on the receipt."""
    if requested is None:
        return {line.position: line.quantity - line.returned_quantity for line in order_lines}
    wanted: dict[str, Decimal] = {}
    for sku, quantity in requested:
        wanted[sku] = wanted.get(sku, Decimal("0")) + quantity
    plan: dict[int, Decimal] = {}
    for sku, quantity in wanted.items():
        candidates = [line for line in order_lines if line.sku == sku]
        if not candidates:
            raise errors.SKU_NOT_IN_ORDER(sku=sku)
        returnable = sum((line.quantity - line.returned_quantity for line in candidates), Decimal("0"))
        if quantity > returnable:
            raise errors.RETURN_EXCEEDS_ORDER(sku=sku, returnable=str(returnable.normalize()))
        for line in candidates:
            take = min(quantity, line.quantity - line.returned_quantity)
            if take > 0:
                plan[line.position] = take
                quantity -= take
    return plan


def order_return(
    *,
    order_external_id: str,
    external_id: str,
    lines: list[tuple[str, Decimal]] | None,
    api_key_lookup_id: str = "",
) -> OrderReturn:
    """Return lines (or, without lines, everything left): take back exactly the points those
    lines earned. Once the whole order is back, the visit bonus goes too and points paid
    with are refunded. Points already spent are taken as far as the balance allows; the
    rest is recorded as unrecovered. The order's campaign boosts record what came back from
    each (the returned row's `campaigns`: CampaignShare per campaign); the row's `entries`
    are the ledger entries the return posted."""
    with transaction.atomic(savepoint=False):
        order = Order.objects.select_for_update().filter(external_id=order_external_id).first()
        if order is None:
            raise errors.ORDER_NOT_FOUND()
        if order.status == Order.Status.RETURNED:
            raise errors.ORDER_ALREADY_RETURNED()
        order_lines = list(order.lines.order_by("position"))
        plan = _return_plan(order_lines, lines)
        returned_lines = []
        boost_lines = []
        due = 0
        for line in order_lines:
            quantity = plan.get(line.position)
            if not quantity:
                continue
            now_returned = line.returned_quantity + quantity
            boost_lines.append(
                LineReturn(
                    position=line.position,
                    quantity=line.quantity,
                    returned_before=line.returned_quantity,
                    returned_after=now_returned,
                )
            )
            points = _points_back(line, now_returned) - _points_back(line, line.returned_quantity)
            line.returned_quantity = now_returned
            line.points_returned += points
            returned_lines.append((line, quantity, points))
            due += points
        everything_back = all(line.returned_quantity >= line.quantity for line in order_lines)
        if everything_back:
            due += order.visit_bonus_points
        refund = order.paid_with_points if everything_back else 0
        campaigns = boosts_return(order_id=order.pk, lines=boost_lines, everything_back=everything_back)

        taken = unrecovered = 0
        posted = []
        if order.customer_id is not None:
            program = point_program_or_404()
            card = card_get_or_create_locked(customer_id=order.customer_id, program=program)
            refuse_blocked_now(customer_id=order.customer_id, card=card)
            order_entries = _order_entries(card, order.external_id) if refund or due else {}
            if refund:
                refunded = ledger_post(
                    card=card,
                    delta=refund,
                    undoes=order_entries.get(LedgerEntry.Cause.REDEEM),
                    cause=LedgerEntry.Cause.REFUND,
                    external_id=external_id,
                    api_key_lookup_id=api_key_lookup_id,
                    note=f"order {order.external_id} returned: points paid with"[:255],
                )
                posted.append(refunded)
            taken = due if program.allow_negative_balance else min(due, max(card.balance, 0))
            unrecovered = due - taken
            if taken:
                returned = ledger_post(
                    card=card,
                    delta=-taken,
                    undoes=order_entries.get(LedgerEntry.Cause.ORDER),
                    cause=LedgerEntry.Cause.RETURN,
                    external_id=external_id,
                    api_key_lookup_id=api_key_lookup_id,
                    note=f"return of order {order.external_id}"[:255],
                )
                posted.append(returned)
                customer_tier_recalculate(customer_id=order.customer_id)
            if refund or taken:
                balance_updated_publish(customer_id=order.customer_id)
        try:
            with transaction.atomic():
                order_return_row = OrderReturn.objects.create(
                    order=order,
                    external_id=external_id,
                    is_cancellation=lines is None,
                    points_due=due,
                    points_taken=taken,
                    points_unrecovered=unrecovered,
                    paid_points_refunded=refund,
                    api_key_lookup_id=api_key_lookup_id,
                )
        except IntegrityError:
            raise errors.RETURN_EXISTS() from None
        OrderReturnLine.objects.bulk_create(
            OrderReturnLine(order_return=order_return_row, order_line=line, quantity=quantity, points=points)
            for line, quantity, points in returned_lines
        )
        OrderLine.objects.bulk_update(
            [line for line, _, _ in returned_lines], ["returned_quantity", "points_returned"]
        )
        Order.objects.filter(pk=order.pk).update(
            status=Order.Status.RETURNED if everything_back else Order.Status.PARTIALLY_RETURNED,
            points_returned=F("points_returned") + due,
            points_unrecovered=F("points_unrecovered") + unrecovered,
        )
        order.refresh_from_db()
        order_return_row.order = order
        order_return_row.campaigns = campaigns
        order_return_row.entries = tuple(posted)  # posted on the customer's card, in order
        if outbox.is_subscribed("order.returned"):
            customer_code = None
            if order.customer_id is not None:
                customer_code = Customer.objects.values_list("customer_code", flat=True).get(
                    pk=order.customer_id
                )
            outbox.event_record(
                "order.returned",
                customer_id=order.customer_id,
                data=payloads.order_returned(
                    order_return_row,
                    order=order,
                    customer_code=customer_code,
                    balance=card.balance if order.customer_id is not None else None,
                ),
            )
        return order_return_row


def order_claim(*, order_external_id: str, customer: Customer) -> Order:
    """Credit an unclaimed order's points (what is left after returns) to the customer, once."""
    organization_writable_check()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(external_id=order_external_id).first()
        if order is None:
            raise errors.ORDER_NOT_FOUND()
        if order.customer_id is not None:
            raise errors.CLAIM_USED()
        if order.claim_expires_at is not None and order.claim_expires_at <= timezone.now():
            raise errors.CLAIM_EXPIRED()
        Order.objects.filter(pk=order.pk).update(customer=customer, claimed_at=timezone.now())
        boosts_claim(order_id=order.pk, customer_id=customer.pk)
        points = order.points_earned - order.points_returned
        if points > 0:
            program = point_program_or_404()
            card = card_get_or_create_locked(customer_id=customer.pk, program=program)
            entry = ledger_post(
                card=card,
                delta=points,
                cause=LedgerEntry.Cause.ORDER,
                external_id=order.external_id,
                note=f"receipt claimed: order {order.external_id}"[:255],
            )
            earned_record(
                customer=customer, card=card, entry=entry, source="receipt_claim", shop_id=order.shop_id
            )
            customer_tier_recalculate(customer_id=customer.pk)
            balance_updated_publish(customer_id=customer.pk)
        order.refresh_from_db()
        return order


def order_pin_action_for(*, names_customer: bool, paid_with_points: int) -> str | None:
    """The PIN action of an order: it earns for its customer, or redeems when points pay part
    of it; an order that names no customer asks nobody."""
    if not names_customer:
        return None
    return PinChallenge.Action.REDEEM if paid_with_points else PinChallenge.Action.EARN
