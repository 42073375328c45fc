"""Blocked customers and cards (contract: pos-webhooks.md, "Blocked customers and cards").

Every POS call that would change a blocked customer's or card's balance, or use their coupon,
voucher, reward or prepaid credit, is refused with customer_blocked or card_blocked and
changes nothing. The services call these twice: in their read-only pre-check (before any PIN
step, so a blocked customer is never asked for one) and again in their transaction, after
the locks, where a block committed since the pre-check is seen."""

from django.db import connection

from loyalty_platform.core import errors
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, Program
from loyalty_platform.programs.selectors import card_balance_and_status

_BLOCKED = Customer.Status.BLOCKED.value  # read once: an enum member's value is a slow property
_DELETED = Customer.Status.DELETED.value
_CARD_BLOCKED = Card.Status.BLOCKED.value
_CUSTOMER_STATUS_SQL = f"SELECT status FROM {Customer._meta.db_table} WHERE id = %s"  # noqa: S608


def refuse_blocked(*, customer_status: str | None = None, card_status: str | None = None) -> None:
    """customer_blocked or card_blocked when the status given says so (None: not checked)."""
    if customer_status == _BLOCKED:
        raise errors.CUSTOMER_BLOCKED()
    if card_status == _CARD_BLOCKED:
        raise errors.CARD_BLOCKED()


def refuse_blocked_customer(customer: Customer | None) -> None:
    """The pre-check's refusal, from the customer as the call found them (None: no customer)."""
    if customer is not None:
        refuse_blocked(customer_status=customer.status)


def _status_now(customer_id: int) -> str | None:
    with connection.prepared_cursor() as cursor:
        cursor.execute(_CUSTOMER_STATUS_SQL, [customer_id])
        row = cursor.fetchone()
    return row[0] if row else None


def refuse_blocked_now(*, customer_id: int | None, card: Card | None = None) -> None:
    """The refusal in the transaction: the customer's status read again by a statement of
    its own (run it after taking the call's locks), and the locked card's."""
    if customer_id is not None:
        refuse_blocked(customer_status=_status_now(customer_id))
    if card is not None:
        refuse_blocked(card_status=card.status)


def refuse_erased_now(*, customer_id: int | None) -> None:
    """customer_not_found when the customer was erased while the call waited for its lock:
    money must not arrive on an erased account (docs/decisions/0056). Run it after the
    call's locks, as refuse_blocked_now."""
    if customer_id is not None and _status_now(customer_id) == _DELETED:
        raise errors.CUSTOMER_NOT_FOUND()


def usable_card_balance(customer: Customer, program: Program) -> int:
    """The pre-check's plain read of the customer's card in the program (no lock): its
    balance (0 without a card), after refusing a blocked customer or card."""
    refuse_blocked_customer(customer)
    balance, status = card_balance_and_status(customer_id=customer.pk, program=program)
    refuse_blocked(card_status=status)
    return balance
