"""What the lot and expiry tests share: earning, changing a program as the portal does, and
the invariant they check after each step."""

from decimal import Decimal

from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce

from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, Program
from loyalty_platform.programs.services import customer_earn


def earn(customer, amount, external_id):
    return customer_earn(
        customer=customer, amount=Decimal(amount), card_type="point", external_id=external_id
    )


def configure(program: Program, **fields) -> Program:
    """Change the program as the portal does (save: the cached active programs are forgotten)."""
    for name, value in fields.items():
        setattr(program, name, value)
    program.save(update_fields=list(fields))
    return program


def assert_lots_consistent(cards: list[Card]) -> None:
    """Each card's balance is the sum of its entries, its open lots hold the balance's positive
    part, and no lot gave more than it held. The cards' `balance` is read again."""
    ids = [card.pk for card in cards]
    entries = dict(LedgerEntry.objects.filter(card__in=ids).values_list("card").annotate(total=Sum("delta")))
    open_lots = dict(
        PointLot.objects.filter(card__in=ids).values_list("card").annotate(total=Sum("remaining"))
    )
    balances = dict(Card.objects.filter(pk__in=ids).values_list("pk", "balance"))
    for card in cards:
        card.balance = balances[card.pk]
        assert card.balance == entries.get(card.pk, 0)
        assert open_lots.get(card.pk, 0) == max(card.balance, 0)
    overdrawn = (
        PointLot.objects.filter(card__in=ids)
        .alias(
            drawn=Coalesce(Sum("draws__points"), Value(0)),
            restored=Coalesce(Sum("draws__restored"), Value(0)),
        )
        .filter(points__lt=F("remaining") + F("expired") + F("drawn") - F("restored"))
    )
    assert not overdrawn.exists()
