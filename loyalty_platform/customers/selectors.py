import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import CharField, Q
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_platform.audit.actions import action_label
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.text import ascii_digits
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import ConsentEvent, Customer
from loyalty_platform.customers.services import normalize_email, normalize_phone
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.stored_value.models import MoneyEntry
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.vouchers.models import VoucherRedemption

_CUSTOMER_FIELDS = [field.attname for field in Customer._meta.concrete_fields]
# Every POS call naming a customer runs this: written once, not compiled by the ORM per call.
_CUSTOMER_COLUMNS = ", ".join(f'"{field.column}"' for field in Customer._meta.concrete_fields)
_CUSTOMER_BY_CODE_SQL = (
    f"SELECT {_CUSTOMER_COLUMNS} FROM {Customer._meta.db_table} "  # noqa: S608
    "WHERE customer_code = %s AND status <> %s"
)


def masked_email(email: str) -> str:
    """ "a***@example.com"; "" for a member without an email (one who joined by phone)."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# The same look-up as a LEFT JOIN for another statement to carry (pos_api.idempotency):
# its columns, prefixed, and the join with two parameters (the code, the deleted status).
CUSTOMER_JOIN_COLUMNS = ", ".join(f'c."{field.column}"' for field in Customer._meta.concrete_fields)
CUSTOMER_BY_CODE_JOIN = f"LEFT JOIN {Customer._meta.db_table} AS c ON c.customer_code = %s AND c.status <> %s"


_DELETED = Customer.Status.DELETED.value  # read once: an enum member's value is a slow property


def customer_join_parameters(customer_code: int) -> list:
    return [customer_code, _DELETED]


def customer_from_join(values) -> Customer | None:
    """The customer of a CUSTOMER_BY_CODE_JOIN row's columns, None when the join found none."""
    return None if values[0] is None else Customer.from_db(connection.alias, _CUSTOMER_FIELDS, values)


def customer_by_code(customer_code: int) -> Customer | None:
    with connection.prepared_cursor() as cursor:
        cursor.execute(_CUSTOMER_BY_CODE_SQL, customer_join_parameters(customer_code))
        row = cursor.fetchone()  # customer_code is unique
    return None if row is None else Customer.from_db(connection.alias, _CUSTOMER_FIELDS, row)


def customer_by_email(email: str) -> Customer | None:
    return (
        Customer.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email.strip().lower())
        .exclude(email="")  # the unique index's condition, so that it serves the look-up
        .exclude(status=Customer.Status.DELETED)
        .first()
    )


def customer_by_phone(phone: str) -> Customer | None:
    return Customer.objects.filter(phone=phone).exclude(status=Customer.Status.DELETED).order_by("pk").first()


def customer_by_card_number(card_number: str) -> Customer | None:
    card = Card.objects.select_related("customer").filter(card_number=card_number.strip()).first()
    if card is None or card.customer.status == Customer.Status.DELETED:
        return None
    return card.customer


def customer_by_card_id(card_id: int) -> Customer | None:
    """The customer holding the card with this id (a card of any program names them)."""
    card = Card.objects.select_related("customer").filter(pk=card_id).first()
    if card is None or card.customer.status == Customer.Status.DELETED:
        return None
    return card.customer


# --- Staff search -------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s().-]")


# A term of "+" and this many digits or more is a whole phone number, not a part of one.
_WHOLE_PHONE_DIGITS = 10


def customer_search_filter(term: str) -> Q:
    """Customers a staff search term finds: part of the email or name, the exact customer
    code, a card number (spaces and dashes ignored), or the phone (any common spelling of
    an E.164 number, or a run of its digits). Every part can use an index (an OR of parts
    is a BitmapOr only if each one can): the card number's holder is looked up first, by its
    unique index, rather than as an EXISTS the OR would test row by row. A whole email
    address or phone number finds that customer by its own index only: as a part it would
    read the posting lists of trigrams most customers share ("gmail.com", "+3706"), the
    longer the more customers (docs/decisions/0063-trigram-customer-search.md)."""
    term = term.strip()[:254]
    compact = _SEPARATORS.sub("", term)
    if "@" in term:
        with contextlib.suppress(DomainError):
            return Q(Exact(Lower("email"), normalize_email(term))) & ~Q(email="")
    # "+" first: 00 and digits alone may as well be the start of a card number.
    if compact.startswith("+") and len(compact) > _WHOLE_PHONE_DIGITS:
        with contextlib.suppress(DomainError):
            return Q(phone=normalize_phone(term))
    found = Q(email__icontains=term) | Q(name__icontains=term)
    if ascii_digits(compact) and len(compact) == 6:
        found |= Q(customer_code=int(compact))
    if ascii_digits(compact) and 6 <= len(compact) <= 20:
        holders = Card.objects.filter(card_number=compact).values_list("customer_id", flat=True)
        found |= Q(pk__in=list(holders))
    if compact.lstrip("+").isdigit() and len(compact) >= 4:
        with contextlib.suppress(DomainError):
            found |= Q(phone=normalize_phone(term))
        found |= Q(phone__contains=compact)
    return found


# --- The customer page's timeline ---------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # the source: ledger, coupon, voucher, order, return, reward, prepaid, giftcard, ...
    title: str
    detail: str = ""


def _recent(queryset, field: str, before: datetime | None, limit: int):
    if before is not None:
        queryset = queryset.filter(**{f"{field}__lt": before})
    return queryset.order_by(f"-{field}")[:limit]


def _ledger_items(customer: Customer, before, limit) -> list[TimelineItem]:
    entries = _recent(
        LedgerEntry.objects.filter(card__customer=customer).select_related("card__program", "staff_user"),
        "created_at",
        before,
        limit,
    )
    items = []
    for entry in entries:
        unit = _("stamps") if entry.card.program.kind == "stamp" else _("points")
        details = [_("balance %(balance)d") % {"balance": entry.balance_after}]
        if entry.reversed_entry_id:
            details.append(_("reverses entry %(id)d") % {"id": entry.reversed_entry_id})
        if entry.external_id:
            details.append(entry.external_id)
        if entry.staff_user_id:
            details.append(_("by %(staff)s") % {"staff": entry.staff_user})
        if entry.note:
            details.append(entry.note)
        items.append(
            TimelineItem(
                at=entry.created_at,
                kind="ledger",
                title=f"{entry.card.program.name}: {entry.get_cause_display()} {entry.delta:+d} {unit}",
                detail=" · ".join(details),
            )
        )
    return items


def _coupon_items(customer: Customer, before, limit) -> list[TimelineItem]:
    issued = _recent(Coupon.objects.filter(customer=customer), "issued_at", before, limit)
    redeemed = _recent(
        Coupon.objects.filter(customer=customer, redeemed_at__isnull=False), "redeemed_at", before, limit
    )
    return [
        *(
            TimelineItem(
                at=c.issued_at,
                kind="coupon",
                title=_("Coupon issued: %(name)s") % {"name": c.name},
                detail=_("now %(status)s") % {"status": c.get_status_display()},
            )
            for c in issued
        ),
        *(
            TimelineItem(
                at=c.redeemed_at,
                kind="coupon",
                title=_("Coupon redeemed: %(name)s") % {"name": c.name},
                detail=c.redeemed_external_id,
            )
            for c in redeemed
        ),
    ]


def _voucher_items(customer: Customer, before, limit) -> list[TimelineItem]:
    uses = _recent(
        VoucherRedemption.objects.filter(customer=customer).select_related("voucher__promotion"),
        "created_at",
        before,
        limit,
    )
    return [
        TimelineItem(
            at=use.created_at,
            kind="voucher",
            title=_("Voucher redeemed: %(promotion)s") % {"promotion": use.voucher.promotion.title},
            detail=" · ".join(
                part
                for part in (
                    use.voucher.code,
                    use.external_id,
                    _("reversed %(at)s") % {"at": use.reversed_at.isoformat(timespec="minutes")}
                    if use.reversed_at
                    else "",
                )
                if part
            ),
        )
        for use in uses
    ]


def _order_items(customer: Customer, before, limit) -> list[TimelineItem]:
    orders = _recent(Order.objects.filter(customer=customer), "created_at", before, limit)
    returns = _recent(
        OrderReturn.objects.filter(order__customer=customer).select_related("order"),
        "created_at",
        before,
        limit,
    )
    return [
        *(
            TimelineItem(
                at=o.created_at,
                kind="order",
                title=_("Order %(id)s: %(total)s %(currency)s")
                % {"id": o.external_id, "total": o.total, "currency": o.currency},
                detail=_("%(points)d points earned · %(status)s")
                % {"points": o.points_earned, "status": o.get_status_display()},
            )
            for o in orders
        ),
        *(
            TimelineItem(
                at=r.created_at,
                kind="return",
                title=(
                    _("Cancellation of order %(id)s") if r.is_cancellation else _("Return on order %(id)s")
                )
                % {"id": r.order.external_id},
                detail=_("%(points)d points taken back") % {"points": r.points_taken},
            )
            for r in returns
        ),
    ]


def _reward_items(customer: Customer, before, limit) -> list[TimelineItem]:
    receptions = _recent(
        RewardReception.objects.filter(customer=customer).select_related("reward"),
        "created_at",
        before,
        limit,
    )
    return [
        TimelineItem(
            at=r.created_at,
            kind="reward",
            title=_("Reward: %(name)s") % {"name": r.reward.name},
            detail=_("%(points)d points · %(status)s")
            % {"points": r.points, "status": r.get_status_display()},
        )
        for r in receptions
    ]


def _money_items(customer: Customer, before, limit) -> list[TimelineItem]:
    prepaid = _recent(
        MoneyEntry.objects.filter(prepaid_account__customer=customer).select_related("prepaid_account"),
        "created_at",
        before,
        limit,
    )
    items = [
        TimelineItem(
            at=e.created_at,
            kind="prepaid",
            title=_("Prepaid: %(cause)s %(amount)s %(currency)s")
            % {"cause": e.get_cause_display(), "amount": e.amount, "currency": e.prepaid_account.currency},
            detail=_("balance %(balance)s") % {"balance": e.balance_after},
        )
        for e in prepaid
    ]
    if customer.status != Customer.Status.DELETED and customer.email:
        # Giftcards have no owner; the ones sent to the customer's email are theirs to see
        # (none for a member without an email: "" would match every giftcard sent to nobody).
        gifts = _recent(
            MoneyEntry.objects.filter(giftcard__recipient_email__iexact=customer.email).select_related(
                "giftcard"
            ),
            "created_at",
            before,
            limit,
        )
        items += [
            TimelineItem(
                at=e.created_at,
                kind="giftcard",
                title=_("Giftcard %(code)s: %(cause)s %(amount)s %(currency)s")
                % {
                    "code": e.giftcard.code,
                    "cause": e.get_cause_display(),
                    "amount": e.amount,
                    "currency": e.giftcard.currency,
                },
                detail=_("balance %(balance)s") % {"balance": e.balance_after},
            )
            for e in gifts
        ]
    return items


def _pin_items(customer: Customer, before, limit) -> list[TimelineItem]:
    challenges = _recent(PinChallenge.objects.filter(customer=customer), "created_at", before, limit)
    return [
        TimelineItem(
            at=c.created_at,
            kind="pin",
            title=_("PIN asked: %(action)s") % {"action": c.get_action_display()},
            detail=c.get_status_display(),
        )
        for c in challenges
    ]


def _audit_items(customer: Customer, before, limit) -> list[TimelineItem]:
    card_ids = (
        Card.objects.filter(customer=customer).annotate(text_id=Cast("pk", CharField())).values("text_id")
    )
    entries = _recent(
        AuditLogEntry.objects.filter(
            Q(target_type=Customer._meta.label, target_id=str(customer.pk))
            | Q(target_type=Card._meta.label, target_id__in=card_ids)
        )
        .exclude(action="customers.consent")  # the consent items tell these, with their source
        .select_related("actor"),
        "created_at",
        before,
        limit,
    )
    return [
        TimelineItem(
            at=e.created_at,
            kind="staff",
            title=_("Staff: %(action)s (%(target)s)")
            % {"action": action_label(e.action), "target": e.target_repr},
            detail=" · ".join(
                part
                for part in (
                    _("by %(staff)s") % {"staff": e.actor} if e.actor_id else "",
                    str(e.details.get("reason", "")),
                )
                if part
            ),
        )
        for e in entries
    ]


@dataclass(frozen=True)
class ConsentLine:
    at: datetime
    channel: str
    given: bool
    title: str  # in words, in the active language
    source: str  # where it was given or withdrawn, in words


def consent_event_title(*, channel: str, given: bool) -> str:
    if channel == ConsentEvent.Channel.SMS:
        if given:
            return _("Agreed to offers by text message")
        return _("Withdrew consent to offers by text message")
    return _("Agreed to offers by email") if given else _("Withdrew consent to offers by email")


def consent_history(
    customer: Customer, *, before: datetime | None = None, limit: int | None = None
) -> list[ConsentLine]:
    """The customer's marketing consents given and withdrawn, per channel, newest first."""
    events = ConsentEvent.objects.filter(customer=customer)
    if before is not None:
        events = events.filter(created_at__lt=before)
    events = events.order_by("-created_at", "-pk")
    if limit is not None:
        events = events[:limit]
    return [
        ConsentLine(
            at=timezone.localtime(e.created_at),  # the organization's zone, for its days
            channel=e.channel,
            given=e.given,
            title=consent_event_title(channel=e.channel, given=e.given),
            source=str(e.get_source_display()),
        )
        for e in events
    ]


def _consent_items(customer: Customer, before, limit) -> list[TimelineItem]:
    consents = [
        (customer.created_at, _("Enrolled")),
        (customer.consent_terms_at, _("Accepted the terms")),
        (customer.consent_privacy_at, _("Accepted the privacy notice")),
    ]
    return [
        TimelineItem(at=at, kind="consent", title=title)
        for at, title in consents
        if at is not None and (before is None or at < before)
    ] + [
        TimelineItem(at=line.at, kind="consent", title=line.title, detail=line.source)
        for line in consent_history(customer, before=before, limit=limit)
    ]


_SOURCES = (
    _ledger_items,
    _coupon_items,
    _voucher_items,
    _order_items,
    _reward_items,
    _money_items,
    _pin_items,
    _audit_items,
)


def customer_timeline_page(
    customer: Customer, *, limit: int, before: datetime | None = None
) -> tuple[list[TimelineItem], bool]:
    """The newest `limit` events before `before`, and whether older ones exist. Each source
    is one query of at most limit + 1 rows. A page never ends inside a group of events of
    the same instant (an earn and the coupon it issued), so `before` = the last item's time
    loses nothing on the next page."""
    items = _consent_items(customer, before, limit + 1)
    for source in _SOURCES:
        items += source(customer, before, limit + 1)
    items.sort(key=lambda item: item.at, reverse=True)
    if len(items) <= limit:
        return items, False
    page = items[:limit]
    border = items[limit].at
    whole = [item for item in page if item.at != border]
    return (whole or page), True


def customer_timeline(
    customer: Customer, *, limit: int, before: datetime | None = None
) -> list[TimelineItem]:
    return customer_timeline_page(customer, limit=limit, before=before)[0]
