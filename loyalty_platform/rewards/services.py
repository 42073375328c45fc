import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.blocks import refuse_blocked_customer, refuse_blocked_now, usable_card_balance
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.selectors import active_programs, card_balances
from loyalty_platform.programs.services import balance_updated_publish, ledger_post
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.verification.services import pin_challenge_spend
from loyalty_platform.webhooks import outbox, payloads
from tenants.limits import organization_writable_check

logger = logging.getLogger(__name__)


def _point_program() -> Program:
    program = active_programs().get(Program.Kind.POINT)
    if program is None:
        raise errors.PROGRAM_NOT_FOUND(card_type="point")
    return program


def reward_reception_check(*, reward: Reward, customer: Customer, pre_redeem: bool = False) -> None:
    """The refusals of a reward reception that need no PIN (reward_not_found,
    pre_redeem_not_allowed, program_not_found, customer_blocked, card_blocked,
    insufficient_balance), from a plain read without locks: call it before the PIN step.
    reward_reception_create checks again under its lock."""
    if not reward.is_active:
        raise errors.REWARD_NOT_FOUND()
    if pre_redeem and not reward.allow_pre_redeem:
        raise errors.PRE_REDEEM_NOT_ALLOWED()
    program = _point_program()
    if usable_card_balance(customer, program) < reward.required_credits:
        raise errors.INSUFFICIENT_BALANCE()


def reward_reception_create(
    *,
    reward: Reward,
    customer: Customer,
    pre_redeem: bool = False,
    external_id: str = "",
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
    source: str = "till",
) -> RewardReception:
    """Spend the reward's points now; with pre_redeem the reward is collected later. Spends
    the verified PIN challenge; the customer's profile hears the new balances after commit.
    `source` tells the reward.received event where it was taken (till or profile)."""
    if not reward.is_active:
        raise errors.REWARD_NOT_FOUND()
    if pre_redeem and not reward.allow_pre_redeem:
        raise errors.PRE_REDEEM_NOT_ALLOWED()
    program = _point_program()
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        card = (
            Card.objects.select_for_update()
            .select_related("program")
            .filter(customer=customer, program=program)
            .first()
        )
        refuse_blocked_now(customer_id=customer.pk, card=card)
        if card is None or card.balance < reward.required_credits:
            raise errors.INSUFFICIENT_BALANCE()
        entry = ledger_post(
            card=card,
            delta=-reward.required_credits,
            cause=LedgerEntry.Cause.REDEEM,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            note=f"reward: {reward.name}"[:255],
        )
        balance_updated_publish(customer_id=customer.pk)
        reception = RewardReception.objects.create(
            reward=reward,
            customer=customer,
            points=reward.required_credits,
            status=RewardReception.Status.COLLECTABLE if pre_redeem else RewardReception.Status.SPENT,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            ledger_entry=entry,
        )
        outbox.event_record(
            "reward.received",
            customer_id=customer.pk,
            data=payloads.reward_received(
                customer_code=customer.customer_code,
                reception_id=reception.pk,
                reward=reward,
                points=reception.points,
                status=reception.status,
                balance=entry.balance_after,
                entry_id=entry.pk,
                external_id=external_id,
                source=source,
            ),
        )
        return reception


# A reward taken in the profile: its reception's (and its ledger entry's) external_id is this
# prefix and the key generated into the form; one reception per customer and key
# (the constraint reception_profile_once, docs/decisions/0053-rewards-in-the-profile.md).
PROFILE_EXTERNAL_ID_PREFIX = "profile-"


@dataclass(frozen=True)
class RewardTaken:
    """A reward the customer took in their profile; `again`: the same form was sent before
    (a double submit, a retry), and this is the first submit's reception, nothing changed."""

    reception: RewardReception
    again: bool


def _profile_reception(customer: Customer, external_id: str) -> RewardReception | None:
    return (
        RewardReception.objects.select_related("reward")
        .filter(customer=customer, external_id=external_id)
        .first()
    )


def reward_take(*, customer: Customer, reward_id: int, form_key: uuid.UUID) -> RewardTaken:
    """The customer takes a reward with their points in their own profile, without a PIN
    (it is their own session): the points are spent now and the reward waits to be collected
    at the till (a collectable reception, as pre_redeem; the till's POST
    /webhook/reward-receptions/<id>/collect hands it over). Once per form: the form's key is
    the reception's external_id, so a double submit or a retry finds the first submit's
    reception and takes nothing again. Refusals change nothing: reward_not_found (inactive,
    or no such reward in this organization), pre_redeem_not_allowed, program_not_found,
    customer_blocked, card_blocked, insufficient_balance. Records reward.received (source
    profile) and an audit record."""
    organization_writable_check()
    external_id = f"{PROFILE_EXTERNAL_ID_PREFIX}{form_key}"
    try:
        with transaction.atomic():
            program = _point_program()
            # The customer's point card first, as reward_reception_create takes it: submits of
            # one form queue here, and the one after the first finds its reception below.
            Card.objects.select_for_update().filter(customer=customer, program=program).first()
            existing = _profile_reception(customer, external_id)
            if existing is not None:
                return RewardTaken(reception=existing, again=True)
            reward = Reward.objects.filter(pk=reward_id, is_active=True).first()
            if reward is None:
                raise errors.REWARD_NOT_FOUND()
            reception = reward_reception_create(
                reward=reward,
                customer=customer,
                pre_redeem=True,
                external_id=external_id,
                source="profile",
            )
            audit_record(
                actor=None,
                action="rewards.take",
                target=reception,
                details={
                    "by": "customer",
                    "reward": {"id": reward.pk, "name": reward.name},
                    "points": reception.points,
                    "balance": reception.ledger_entry.balance_after,
                    "external_id": external_id,
                },
            )
            return RewardTaken(reception=reception, again=False)
    except IntegrityError:
        # Without a point card to queue on, two submits could both get this far: the
        # constraint lets one reception in; the other answers with it.
        existing = _profile_reception(customer, external_id)
        if existing is None:
            raise
        return RewardTaken(reception=existing, again=True)


def _transition(
    reception_id,
    *,
    allowed: tuple[str, ...],
    to: str,
    error: errors.ErrorType,
    created: Callable[[datetime], bool] | None = None,
    **fields,
) -> RewardReception:
    """Move a reception between states under its row lock: concurrent calls cannot both
    succeed. A blocked customer's reception does not move (customer_blocked). `created`,
    where given, must hold for the reception's creation time (else `error`)."""
    with transaction.atomic(savepoint=False):
        reception = (
            RewardReception.objects.select_for_update(of=("self",))
            .select_related("reward", "customer")
            .filter(pk=reception_id)
            .first()
        )
        if reception is None:
            raise errors.RECEPTION_NOT_FOUND()
        refuse_blocked_customer(reception.customer)  # read by the statement that took the lock
        if reception.status not in allowed or (created is not None and not created(reception.created_at)):
            raise error()
        reception.status = to
        for name, value in fields.items():
            setattr(reception, name, value)
        reception.save(update_fields=["status", *fields])
        return reception


def reward_reception_reverse(
    *, reception_id, external_id: str = "", api_key_lookup_id: str = ""
) -> RewardReception:
    """Give the points back, once. A collected reward must have its collection reversed first."""
    with transaction.atomic(savepoint=False):
        reception = _transition(
            reception_id,
            allowed=(RewardReception.Status.SPENT, RewardReception.Status.COLLECTABLE),
            to=RewardReception.Status.REVERSED,
            error=errors.RECEPTION_NOT_REVERSIBLE,
            reversed_at=timezone.now(),
        )
        _points_back(
            reception,
            note=f"reward reversed: {reception.reward.name}",
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
        )
        return reception


def _points_back(
    reception: RewardReception, *, note: str, external_id: str = "", api_key_lookup_id: str = ""
) -> int:
    """Give a reception's points back (the opposite of its entry), in the caller's transaction
    that moved the reception under its lock (_transition): the reception's row lock, then the
    card's, the order every path that takes both follows. Returns the points given back."""
    if reception.ledger_entry_id is None:
        return 0  # a campaign's gift: it cost no points, none come back
    card = Card.objects.select_for_update().select_related("program").get(pk=reception.ledger_entry.card_id)
    refuse_blocked_now(customer_id=None, card=card)
    ledger_post(
        card=card,
        delta=reception.points,
        cause=LedgerEntry.Cause.REVERSAL,
        external_id=external_id,
        api_key_lookup_id=api_key_lookup_id,
        reversed_entry=reception.ledger_entry,
        note=note[:255],
    )
    balance_updated_publish(customer_id=card.customer_id)
    return reception.points


def reward_collect_deadline(program: Program | None, now: datetime) -> datetime | None:
    """Receptions created at or before this moment are past the point program's window to
    collect (reward_collect_days); None: no window."""
    if program is None or not program.reward_collect_days:
        return None
    return now - timedelta(days=program.reward_collect_days)


def _within(deadline: datetime | None) -> Callable[[datetime], bool] | None:
    return None if deadline is None else (lambda created_at: created_at > deadline)


def reward_reception_collect(*, reception_id) -> RewardReception:
    """Hand the reward over. Past the program's window to collect it is refused
    (reception_not_collectable) even before the expiry job gave its points back."""
    now = timezone.now()
    return _transition(
        reception_id,
        allowed=(RewardReception.Status.COLLECTABLE,),
        to=RewardReception.Status.COLLECTED,
        error=errors.RECEPTION_NOT_COLLECTABLE,
        created=_within(reward_collect_deadline(active_programs().get(Program.Kind.POINT), now)),
        collected_at=now,
    )


def reward_reception_reverse_collection(*, reception_id) -> RewardReception:
    return _transition(
        reception_id,
        allowed=(RewardReception.Status.COLLECTED,),
        to=RewardReception.Status.COLLECTABLE,
        error=errors.RECEPTION_NOT_COLLECTED,
        collected_at=None,
    )


@dataclass(frozen=True)
class CatalogEntry:
    reward: Reward
    affordable: bool
    points_needed: int


def reward_catalog(*, points: int) -> list[CatalogEntry]:
    """Active rewards by required points, cheapest first, with what the customer lacks."""
    return [
        CatalogEntry(
            reward=r,
            affordable=points >= r.required_credits,
            points_needed=max(0, r.required_credits - points),
        )
        for r in Reward.objects.filter(is_active=True).order_by("required_credits", "pk")
    ]


def reward_catalog_for(*, customer: Customer) -> list[CatalogEntry]:
    """The catalog as this customer's point balance sees it."""
    return reward_catalog(points=card_balances(customer.pk).get(Program.Kind.POINT, 0))


EXPIRE_CHUNK = 500
_SKIPPED = (errors.RECEPTION_NOT_COLLECTABLE, errors.CUSTOMER_BLOCKED, errors.CARD_BLOCKED)


def reward_reception_expire(*, reception_id, deadline: datetime) -> RewardReception:
    """A collectable reception created at or before `deadline` expires and its points come
    back, once: the same row lock and opposite entry as a reversal (reward_reception_reverse),
    so a reversal, a collection or another run of the job racing it finds it expired
    (reception_not_collectable). A blocked customer's or card's reception does not move."""
    with transaction.atomic(savepoint=False):
        reception = _transition(
            reception_id,
            allowed=(RewardReception.Status.COLLECTABLE,),
            to=RewardReception.Status.EXPIRED,
            error=errors.RECEPTION_NOT_COLLECTABLE,
            created=lambda created_at: created_at <= deadline,
            expired_at=timezone.now(),
        )
        _points_back(reception, note=f"reward not collected in time: {reception.reward.name}")
        return reception


def reward_receptions_due(deadline: datetime) -> QuerySet:
    """Collectable receptions past the window, but not those of blocked customers or cards:
    they wait (as their collection does) until the block is lifted."""
    return (
        RewardReception.objects.filter(status=RewardReception.Status.COLLECTABLE, created_at__lte=deadline)
        .exclude(customer__status=Customer.Status.BLOCKED)
        .exclude(ledger_entry__card__status=Card.Status.BLOCKED)
    )


@dataclass(frozen=True)
class ReceptionExpiry:
    """What expiring a chunk (or a whole run) did; `last` is where a chunk ended."""

    expired: int = 0
    points_returned: int = 0
    last: tuple[datetime, uuid.UUID] | None = None


def reward_receptions_expire_chunk(
    *, deadline: datetime, size: int = EXPIRE_CHUNK, after: tuple[datetime, uuid.UUID] | None = None
) -> ReceptionExpiry:
    """Expire up to `size` due receptions (oldest first, from after `after`), each in its own
    short transaction; one that a till or another run moved first, or whose customer was
    blocked meanwhile, is passed over."""
    due = reward_receptions_due(deadline)
    if after is not None:
        due = due.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], pk__gt=after[1]))
    rows = list(due.order_by("created_at", "pk").values_list("created_at", "pk")[:size])
    expired = points = 0
    for _created_at, reception_id in rows:
        try:
            with transaction.atomic():
                reception = reward_reception_expire(reception_id=reception_id, deadline=deadline)
        except DomainError as refusal:
            if refusal.error not in _SKIPPED:
                # One reception that cannot be given back must not hold up those after it.
                logger.warning(
                    "reception %s in %s not expired: %s", reception_id, connection.schema_name, refusal.code
                )
            continue
        expired += 1
        points += reception.points if reception.ledger_entry_id else 0
    return ReceptionExpiry(expired=expired, points_returned=points, last=rows[-1] if rows else None)


def reward_receptions_expire(
    *, now: datetime | None = None, chunk_size: int = EXPIRE_CHUNK
) -> ReceptionExpiry:
    """Every collectable reception older than the active point program's reward_collect_days
    expires and gives its points back (a campaign's gift only expires). Chunk by chunk, each
    reception committed on its own: a second run at once, or a run after a crash, finds only
    what is left. Nothing without a window or without an active point program."""
    now = now or timezone.now()
    program = Program.objects.filter(kind=Program.Kind.POINT, is_active=True).first()  # fresh, not cached
    deadline = reward_collect_deadline(program, now)
    if deadline is None:
        return ReceptionExpiry()
    expired = points = 0
    after = None
    while True:
        chunk = reward_receptions_expire_chunk(deadline=deadline, size=chunk_size, after=after)
        expired += chunk.expired
        points += chunk.points_returned
        if chunk.last is None:
            return ReceptionExpiry(expired=expired, points_returned=points)
        after = chunk.last
