"""Money a customer still has with the organization, which keeps their account from being
erased (docs/decisions/0056-legal-pages-and-deletion-with-money.md). It counts:

- their prepaid credit (PrepaidAccount.balance > 0);
- digital giftcards sent to their email address (recipient_email, case-insensitive) with a
  balance > 0, blocked ones included (the money is still owed), expired ones not (the card's
  terms say the money can no longer be used, so it would keep the account forever).

Printed giftcards are bearer cards: nothing ties them to a customer, so they never count;
nor do points and stamps (they are no money and are lost with the account)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from loyalty_platform.core import errors
from loyalty_platform.core.formats import money_display
from loyalty_platform.core.money import money_text
from loyalty_platform.customers.models import Customer
from loyalty_platform.stored_value.models import Giftcard, PrepaidAccount

PREPAID = "prepaid"
GIFTCARD = "giftcard"


@dataclass(frozen=True)
class MoneyLeft:
    kind: str  # PREPAID or GIFTCARD
    amount: Decimal
    currency: str

    def as_extra(self) -> dict:
        amount = money_text(self.amount, self.currency)
        return {"kind": self.kind, "amount": amount, "currency": self.currency}


def money_left_locked(*, customer: Customer, email: str) -> list[MoneyLeft]:
    """What the customer has left, with every row it lives in locked FOR UPDATE (the prepaid
    account, the giftcards), so no top-up or load commits in between until the caller's
    transaction ends. `email` is the customer's address as their row holds it now (locked by
    the caller). Must run in that transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("money_left_locked must run inside the transaction that erases the customer")
    left = []
    account = PrepaidAccount.objects.select_for_update().filter(customer_id=customer.pk).first()
    if account is not None and account.balance > 0:
        left.append(MoneyLeft(kind=PREPAID, amount=account.balance, currency=account.currency))
    if email:
        cards = Giftcard.objects.select_for_update().filter(recipient_email__iexact=email).order_by("pk")
        now = timezone.now()
        for card in cards:
            usable = card.expires_at is None or card.expires_at > now
            if card.balance > 0 and usable:
                left.append(MoneyLeft(kind=GIFTCARD, amount=card.balance, currency=card.currency))
    return left


def refuse_erase_with_money_left(*, customer: Customer, email: str) -> None:
    """customer_has_money (with each balance in `money_left`) while anything is left."""
    left = money_left_locked(customer=customer, email=email)
    if left:
        raise errors.CUSTOMER_HAS_MONEY(money_left=[item.as_extra() for item in left])


def money_left_lines(money_left: list[dict]) -> list[str]:
    """The refusal's balances as sentences for a page, each amount the active language's way
    ("€20.00 of prepaid credit", decision 0059)."""
    lines = []
    for item in money_left:
        values = {"amount": money_display(item["amount"], item["currency"])}
        if item["kind"] == PREPAID:
            lines.append(gettext("%(amount)s of prepaid credit") % values)
        else:
            lines.append(gettext("%(amount)s on a giftcard sent to this account's email address") % values)
    return lines


def money_left_explanation(*, organization: str, contact_email: str | None) -> str:
    """How to get the money back, one sentence for the profile and the staff portal alike."""
    text = gettext(
        "To get it back, spend it at the till, or ask %(organization)s for a refund. "
        "When nothing is left, the account can be deleted."
    ) % {"organization": organization}
    if contact_email:
        text += " " + gettext("Write to %(email)s.") % {"email": contact_email}
    return text
