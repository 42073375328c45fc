"""Property: any sequence of loads, payments and reversals keeps balance = sum of entries >= 0."""

from decimal import Decimal

from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_platform.core.errors import DomainError
from loyalty_platform.stored_value.models import MoneyEntry
from loyalty_platform.stored_value.services import (
    giftcard_batch_generate,
    giftcard_transact,
    money_entry_reverse,
)

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
operation = st.one_of(
    st.tuples(st.just("load"), cents),
    st.tuples(st.just("pay"), cents, st.booleans()),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, max_size=25))
def test_balance_equals_the_sum_of_entries_and_never_goes_negative(organization, operations):
    with tenant_context(organization), transaction.atomic():
        card = giftcard_batch_generate(name="prop", count=1, currency="EUR").giftcards.get()
        expected = Decimal("0")
        done: list[tuple[str, Decimal]] = []
        reversed_ids = set()
        for op in operations:
            try:
                with transaction.atomic():
                    if op[0] == "load":
                        result = giftcard_transact(code=card.code, amount=op[1], external_id="")
                        done.append((str(result.entry.pk), result.entry.amount))
                        expected += result.entry.amount
                    elif op[0] == "pay":
                        result = giftcard_transact(
                            code=card.code, amount=-op[1], external_id="", allow_partial=op[2]
                        )
                        done.append((str(result.entry.pk), result.entry.amount))
                        expected += result.entry.amount
                    elif done:
                        entry_id, amount = done[op[1] % len(done)]
                        result = money_entry_reverse(entry_id=entry_id, account_kind="giftcard")
                        assert entry_id not in reversed_ids
                        reversed_ids.add(entry_id)
                        expected -= amount
            except DomainError as error:
                assert error.code in {"insufficient_balance", "transaction_already_reversed"}
            card.refresh_from_db()
            entries = MoneyEntry.objects.filter(giftcard=card)
            assert card.balance == expected == sum(entries.values_list("amount", flat=True), Decimal("0"))
            assert card.balance >= 0
            assert all(balance >= 0 for balance in entries.values_list("balance_after", flat=True))
        transaction.set_rollback(True)  # each example starts from a clean slate
