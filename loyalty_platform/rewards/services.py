import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from loyalty_platform.core import errors
from loyalty_platform.customers.blocks import refuse_blocked_customer, refuse_blocked_now, usable_card_balance
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.selectors import active_programs, card_balances
from loyalty_platform.programs.services import balance_updated_publish, ledger_post
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.verification.services import pin_challenge_spend


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
) -> RewardReception:
    """Spend the reward's points now; with pre_redeem the reward is collected later. Spends
    the verified PIN challenge; the customer's profile hears the new balances after commit."""
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
        return RewardReception.objects.create(
            reward=reward,
            customer=customer,
            points=reward.required_credits,
            status=RewardReception.Status.COLLECTABLE if pre_redeem else RewardReception.Status.SPENT,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            ledger_entry=entry,
        )


def _transition(
    reception_id, *, allowed: tuple[str, ...], to: str, error: errors.ErrorType, **fields
) -> RewardReception:
    """Move a reception between states under its row lock: concurrent calls cannot both
    succeed. A blocked customer's reception does not move (customer_blocked)."""
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
        if reception.status not in allowed:
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
        if reception.ledger_entry_id is None:
            return reception  # a campaign's gift: it cost no points, none come back
        card = (
            Card.objects.select_for_update().select_related("program").get(pk=reception.ledger_entry.card_id)
        )
        refuse_blocked_now(customer_id=None, card=card)
        ledger_post(
            card=card,
            delta=reception.points,
            cause=LedgerEntry.Cause.REVERSAL,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            reversed_entry=reception.ledger_entry,
            note=f"reward reversed: {reception.reward.name}"[:255],
        )
        balance_updated_publish(customer_id=card.customer_id)
        return reception


def reward_reception_collect(*, reception_id) -> RewardReception:
    return _transition(
        reception_id,
        allowed=(RewardReception.Status.COLLECTABLE,),
        to=RewardReception.Status.COLLECTED,
        error=errors.RECEPTION_NOT_COLLECTABLE,
        collected_at=timezone.now(),
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
