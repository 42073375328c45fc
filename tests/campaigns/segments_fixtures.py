"""Small builders for the segment tests: customers, cards, ledger entries and orders at chosen
moments (created_at is set after the insert, as auto_now_add ignores a given value)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from loyalty_platform.campaigns.models import Segment, SegmentRule
from loyalty_platform.campaigns.segments import segment_contains, segment_customers, segment_size
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order, OrderLine
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.services import VISIT_CAUSES, card_number_candidate

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
_codes = iter(range(300000, 999999, 13))


def customer(
    email: str,
    *,
    created: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    marketing: bool = False,
    birth_date: date | None = None,
    status: str = Customer.Status.ACTIVE,
) -> Customer:
    made = Customer.objects.create(
        customer_code=next(_codes),
        email=email,
        consent_terms_at=created,
        consent_privacy_at=created,
        consent_marketing_at=created if marketing else None,
        birth_date=birth_date,
        status=status,
    )
    Customer.objects.filter(pk=made.pk).update(created_at=created)
    made.refresh_from_db()
    return made


def point_program() -> Program:
    return Program.objects.filter(kind=Program.Kind.POINT, is_active=True).first() or Program.objects.create(
        kind=Program.Kind.POINT, name="Points"
    )


def card(of: Customer, program: Program | None = None, balance: int = 0) -> Card:
    program = program or point_program()
    found = Card.objects.filter(customer=of, program=program).first()
    if found is None:
        found = Card.objects.create(customer=of, program=program, card_number=card_number_candidate())
    if balance:
        Card.objects.filter(pk=found.pk).update(balance=balance)
    return found


def entry(
    of: Customer,
    delta: int,
    cause: str,
    at: datetime,
    *,
    program: Program | None = None,
    reverses: LedgerEntry | None = None,
    lookup: str = "",
) -> LedgerEntry:
    made = LedgerEntry.objects.create(
        card=card(of, program),
        delta=delta,
        balance_after=0,
        cause=cause,
        reversed_entry=reverses,
        api_key_lookup_id=lookup,
    )
    LedgerEntry.objects.filter(pk=made.pk).update(created_at=at)
    card_last_visit_refresh(made.card_id)
    return made


def card_last_visit_refresh(card_id: int) -> None:
    """What ledger_post keeps on the card (its newest earn or redeem), for entries a test
    made directly or moved to another time."""
    newest_visit = (
        LedgerEntry.objects.filter(card_id=OuterRef("pk"), cause__in=VISIT_CAUSES)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    Card.objects.filter(pk=card_id).update(last_visit_at=Subquery(newest_visit))


def order(
    of: Customer,
    total: str,
    at: datetime,
    *,
    shop=None,
    status: str = Order.Status.COMPLETED,
    returned: tuple[str, str] | None = None,
) -> Order:
    """An order; `returned` is (quantity, unit price) of a returned line."""
    made = Order.objects.create(
        external_id=f"o-{next(_codes)}",
        customer=of,
        shop=shop,
        currency="EUR",
        total=Decimal(total),
        status=status,
        points_earned=0,
    )
    if returned:
        quantity, price = Decimal(returned[0]), Decimal(returned[1])
        OrderLine.objects.create(
            order=made,
            position=1,
            sku="x",
            quantity=quantity,
            unit_price=price,
            points_earned=0,
            returned_quantity=quantity,
        )
    Order.objects.filter(pk=made.pk).update(created_at=at)
    return made


def segment(*rules: dict, match: str = Segment.Match.ALL) -> Segment:
    made = Segment.objects.create(name="s", match=match)
    for fields in rules:
        SegmentRule.objects.create(segment=made, **fields)
    return made


def members(of: Segment, now: datetime = NOW) -> set[str]:
    """The segment's emails, checked three ways: the query, its count, and segment_contains
    asked about every customer of the schema."""
    emails = set(segment_customers(of, now=now).values_list("email", flat=True))
    assert segment_size(of, now=now) == len(emails)
    contained = {c.email for c in Customer.objects.all() if segment_contains(of, c.pk, now=now)}
    assert contained == emails
    return emails
