from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core.schema_cache import schema_cached
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.selectors import coupons_waiting
from loyalty_platform.programs.models import Card, PointLot, Program

ACTIVE_PROGRAMS_CACHE_KEY = "programs:active"


def active_programs() -> dict[str, Program]:
    """The organization's active programs by kind, cached per schema (read-only: the objects
    are shared by the process's threads); programs.signals forgets them when a program
    changes."""
    return schema_cached(
        ACTIVE_PROGRAMS_CACHE_KEY,
        lambda: {program.kind: program for program in Program.objects.filter(is_active=True)},
    )


def active_program(kind: str) -> Program | None:
    return active_programs().get(kind)


def card_balances(customer_id: int) -> dict[str, int]:
    """Balances of the customer's cards in the active programs, by kind (0 without a card)."""
    programs = active_programs()
    balances = dict.fromkeys(programs, 0)
    by_program = {program.pk: kind for kind, program in programs.items()}
    for program_id, balance in Card.objects.filter(
        customer_id=customer_id, program_id__in=list(by_program)
    ).values_list("program_id", "balance"):
        balances[by_program[program_id]] = balance
    return balances


@dataclass(frozen=True)
class StampCardProgress:
    """A customer's way through a stamp program: the stamps on their card (`card` None
    before their first stamp), the coupons of full cards still waiting to be used (oldest
    first), and how many cards they filled (coupons issued and not voided)."""

    program: Program
    customer_id: int
    card: Card | None
    waiting: tuple
    completed: int

    @property
    def stamps(self) -> int:
        return self.card.balance if self.card is not None else 0

    @property
    def reward_waiting(self) -> bool:
        """A full card's reward is there to take: a coupon waits, or the card holds a full
        card's stamps that have not become one (stamps per card lowered since)."""
        return bool(self.waiting) or self.stamps >= self.program.stamps_per_card


def stamp_card_progress(*, customer_id: int, program: Program) -> StampCardProgress:
    """A plain read (no lock) of the customer's progress in the stamp program."""
    return StampCardProgress(
        program=program,
        customer_id=customer_id,
        card=Card.objects.filter(customer_id=customer_id, program=program).first(),
        waiting=tuple(coupons_waiting(customer_id=customer_id, program_id=program.pk)),
        completed=Coupon.objects.filter(customer_id=customer_id, program=program)
        .exclude(status=Coupon.Status.VOID)
        .count(),
    )


def card_balance_and_status(*, customer_id: int, program: Program) -> tuple[int, str | None]:
    """A plain read (no lock) of the customer's card in the program: its balance and status,
    (0, None) without a card."""
    card = Card.objects.filter(customer_id=customer_id, program=program)
    return card.values_list("balance", "status").first() or (0, None)


# Points expiring soon (issue 15; docs/decisions/0047-expiring-points-display.md): what the
# wallet, the look-up, the profile and /me/api/ show, and the program page's liability.
EXPIRING_SOON_DAYS = 30
LIABILITY_MONTHS = 12


@dataclass(frozen=True)
class ExpiringPoints:
    """A customer's open points whose lots expire soon, and the earliest of their dates (None
    when there are none). The date may have passed by up to an hour: the hourly job has not
    run yet, and the points are still in the balance until it does."""

    points: int
    expires_at: datetime | None

    def as_json(self) -> dict:
        return {"points": self.points, "expires_at": self.expires_at.isoformat() if self.expires_at else None}


NOTHING_EXPIRING = ExpiringPoints(0, None)


def program_lots_may_have_dates(program: Program) -> bool:
    """False when no open lot of the program can carry a date: its rule is "never" and the
    lots were dated by it (the default). The readers below then answer without a query."""
    return not (
        program.points_expiry == Program.PointsExpiry.NEVER
        and program.points_expiry_since == program.lots_redated_for
    )


def _horizon(now: datetime | None, days: int) -> datetime:
    return (now or timezone.now()) + timedelta(days=days)


def points_expiring_soon(
    customer_id: int,
    *,
    program: Program | None = None,
    now: datetime | None = None,
    days: int = EXPIRING_SOON_DAYS,
) -> ExpiringPoints:
    """The customer's points (on their card in the active point program, or `program`) whose
    lots expire within the next `days` days, and the earliest such date. One query, on the
    card's open lots by date (lot_card_open_idx); none when the program dates no lot."""
    program = program or active_program(Program.Kind.POINT)
    if program is None or not program_lots_may_have_dates(program):
        return NOTHING_EXPIRING
    found = PointLot.objects.filter(
        card__customer_id=customer_id,
        card__program=program,
        remaining__gt=0,
        expires_at__lte=_horizon(now, days),
    ).aggregate(points=Sum("remaining"), first=Min("expires_at"))
    return ExpiringPoints(found["points"] or 0, found["first"])


@dataclass(frozen=True)
class ProgramExpiringPoints:
    points: int
    customers: int
    expires_at: datetime | None


def program_points_expiring_soon(
    program: Program, *, now: datetime | None = None, days: int = EXPIRING_SOON_DAYS
) -> ProgramExpiringPoints:
    """The bulk variant for the program page: every card's points expiring within `days`
    days, how many customers hold them and the earliest date. One query (lot_due_idx)."""
    if not program_lots_may_have_dates(program):
        return ProgramExpiringPoints(0, 0, None)
    found = PointLot.objects.filter(
        card__program=program, remaining__gt=0, expires_at__lte=_horizon(now, days)
    ).aggregate(points=Sum("remaining"), customers=Count("card", distinct=True), first=Min("expires_at"))
    return ProgramExpiringPoints(found["points"] or 0, found["customers"], found["first"])


@dataclass(frozen=True)
class ExpiryLiability:
    """The program's open points by the month (in the organization's time zone) they expire
    in: `months` from this month on, LIABILITY_MONTHS of them at most and only those with
    points (this month's row includes points already due that the hourly job has not
    expired yet); `later` expire after those months; `never` do not expire."""

    months: list[tuple[date, int]]
    later: int
    never: int

    @property
    def dated(self) -> int:
        return sum(points for _month, points in self.months) + self.later

    @property
    def total(self) -> int:
        return self.dated + self.never


def program_expiry_liability(
    program: Program, *, now: datetime | None = None, months: int = LIABILITY_MONTHS
) -> ExpiryLiability:
    """From one grouped query over the program's open lots (sum of `remaining` per month of
    `expires_at`, NULL for never)."""
    zone = organization_zone()
    local = (now or timezone.now()).astimezone(zone)
    first = date(local.year, local.month, 1)
    last_index = first.year * 12 + first.month - 1 + months - 1
    last = date(last_index // 12, last_index % 12 + 1, 1)
    by_month: dict[date, int] = {}
    later = never = 0
    rows = (
        PointLot.objects.filter(card__program=program, remaining__gt=0)
        .annotate(month=TruncMonth("expires_at", tzinfo=zone))
        .values("month")
        .annotate(points=Sum("remaining"))
        .order_by()
        .values_list("month", "points")
    )
    for month, points in rows:
        if month is None:
            never += points
            continue
        day = month.date() if isinstance(month, datetime) else month
        if day > last:
            later += points
        else:
            key = max(day, first)
            by_month[key] = by_month.get(key, 0) + points
    return ExpiryLiability(months=sorted(by_month.items()), later=later, never=never)
