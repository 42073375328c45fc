"""The points and stamps services called directly: what they post, what they refuse (and
that a refusal changes nothing), the PIN challenge they spend, and the one balance_updated
each change pushes to the customer's profile after commit."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.programs.models import LedgerEntry
from loyalty_platform.programs.services import (
    card_adjust,
    card_adjust_check,
    customer_earn,
    customer_earn_check,
    customer_redeem,
    customer_redeem_check,
)
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue
from tests.pos_fixtures import balances, create_customer, refused, snapshot


def challenge_for(organization, customer, action: str) -> PinChallenge:
    with tenant_context(organization):
        return pin_challenge_issue(organization=organization, customer=customer, action=action).challenge


def challenge_status(organization, challenge) -> str:
    with tenant_context(organization):
        return PinChallenge.objects.get(pk=challenge.pk).status


# Earn ------------------------------------------------------------------------------------


def test_earn_points_says_what_it_applied(organization, programs):
    customer = create_customer(organization, points=5, stamps=2)
    with tenant_context(organization):
        change = customer_earn(customer=customer, amount=Decimal("12.50"), card_type="point", external_id="e")
    assert (change.points, change.stamps, change.applied, change.coupon) == (17, 2, 12, None)
    assert balances(organization, customer)["point"] == (17, 17, 2)


@pytest.mark.parametrize(("amount", "applied"), [("0.5", 1), ("1.49", 1), ("2.5", 3), ("10", 10)])
def test_stamps_are_the_amount_rounded_half_up(organization, programs, amount, applied):
    customer = create_customer(organization)
    with tenant_context(organization):
        change = customer_earn(customer=customer, amount=Decimal(amount), card_type="stamp", external_id="e")
    assert (change.applied, change.stamps, change.coupon is not None) == (
        applied,
        applied % 10,
        applied == 10,
    )


@pytest.mark.parametrize("amount", ["0.4", "0.0001", "10.5", "11", "1000000"])
def test_stamps_that_round_to_zero_or_pass_a_card_are_refused(organization, programs, amount):
    # Before: 0.4 earned a stamp and 1,000,000 earned a card's worth (10), silently.
    customer = create_customer(organization, stamps=4)
    before = snapshot(organization)
    with tenant_context(organization), refused("amount_invalid") as caught:
        customer_earn(customer=customer, amount=Decimal(amount), card_type="stamp", external_id="e")
    assert caught.value.extra == {"field": "amount", "max": 10}
    assert snapshot(organization) == before


def test_a_card_worth_of_stamps_on_a_nearly_full_card_issues_one_coupon_and_carries_over(
    organization, programs
):
    customer = create_customer(organization, stamps=9)
    with tenant_context(organization):
        change = customer_earn(customer=customer, amount=10, card_type="stamp", external_id="e")
        causes = list(
            LedgerEntry.objects.filter(card__customer=customer).order_by("pk").values_list("cause", "delta")
        )
    assert (change.stamps, change.applied, change.coupon.name) == (9, 10, "Free Coffee")
    assert causes == [("adjust", 9), ("earn", 10), ("reward", -10)]


def test_earn_check_refuses_what_earn_refuses_reading_only_the_card(
    organization, programs, django_assert_num_queries
):
    customer = create_customer(organization)
    with tenant_context(organization):
        customer_earn_check(customer=customer, amount=Decimal("1"), card_type="stamp")  # warms the cache
        with django_assert_num_queries(2):  # each passing check reads its card's status, nothing else
            assert customer_earn_check(customer=customer, amount=Decimal("12.99"), card_type="point") == 12
            assert customer_earn_check(customer=customer, amount=Decimal("2.5"), card_type="stamp") == 3
        with django_assert_num_queries(0):  # no PIN step follows: the earn reads the card under its lock
            assert (
                customer_earn_check(
                    customer=customer, amount=Decimal("2"), card_type="point", read_card=False
                )
                == 2
            )
            for amount in ("0.4", "11"):
                with pytest.raises(DomainError, match=r"^amount_invalid$"):
                    customer_earn_check(customer=customer, amount=Decimal(amount), card_type="stamp")


def test_earn_check_without_a_program_is_program_not_found(organization, in_organization):
    customer = create_customer(organization)
    with refused("program_not_found"):
        customer_earn_check(customer=customer, amount=Decimal("1"), card_type="stamp")


# Redeem ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "card_type", "code"),
    [
        (99, "point", "below_minimum"),
        (501, "point", "insufficient_balance"),
        (7, "stamp", "insufficient_balance"),
    ],
)
def test_redeem_check_refuses_from_a_plain_read_as_redeem_does(
    organization, programs, value, card_type, code
):
    customer = create_customer(organization, points=500, stamps=6)
    before = snapshot(organization)
    with tenant_context(organization):
        with refused(code):
            customer_redeem_check(customer=customer, value=value, card_type=card_type)
        with refused(code):
            customer_redeem(customer=customer, value=value, card_type=card_type, external_id="r")
    assert snapshot(organization) == before


def test_redeem_check_passes_what_redeem_does(organization, programs):
    customer = create_customer(organization, points=500)
    with tenant_context(organization):
        customer_redeem_check(customer=customer, value=500, card_type="point")
        change = customer_redeem(customer=customer, value=500, card_type="point", external_id="r")
    assert (change.points, change.applied) == (0, 500)


def test_redeem_check_of_a_customer_without_a_card_is_insufficient(organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        customer.cards.all().delete()
        with refused("insufficient_balance"):
            customer_redeem_check(customer=customer, value=1, card_type="stamp")


# The PIN challenge is the action's to spend -------------------------------------------------


def test_redeem_spends_its_challenge_and_a_spent_one_authorizes_nothing_more(organization, programs):
    customer = create_customer(organization, points=500)
    challenge = challenge_for(organization, customer, "redeem")
    with tenant_context(organization):
        customer_redeem(
            customer=customer, value=100, card_type="point", external_id="r1", pin_challenge_id=challenge.pk
        )
    assert challenge_status(organization, challenge) == "spent"
    before = snapshot(organization)

    with tenant_context(organization), refused("pin_already_used"):
        customer_redeem(
            customer=customer, value=100, card_type="point", external_id="r2", pin_challenge_id=challenge.pk
        )

    assert snapshot(organization) == before
    assert balances(organization, customer)["point"] == (400, 400, 2)


def test_a_refused_action_leaves_its_challenge_open(organization, programs):
    customer = create_customer(organization, points=150)
    challenge = challenge_for(organization, customer, "redeem")
    with tenant_context(organization), refused("insufficient_balance"):
        customer_redeem(
            customer=customer, value=200, card_type="point", external_id="r", pin_challenge_id=challenge.pk
        )
    assert challenge_status(organization, challenge) == "open"


def test_earn_spends_its_challenge(organization, programs):
    customer = create_customer(organization)
    challenge = challenge_for(organization, customer, "earn")
    with tenant_context(organization):
        customer_earn(
            customer=customer, amount=3, card_type="stamp", external_id="e", pin_challenge_id=challenge.pk
        )
    assert challenge_status(organization, challenge) == "spent"


# Staff adjustments ---------------------------------------------------------------------------


@pytest.fixture
def staff(organization):
    with tenant_context(organization):
        return User.objects.create_user(email="staff-services@example.com", password="x" * 12, is_staff=True)


@pytest.mark.parametrize(
    ("card_type", "delta", "reason", "code"),
    [
        ("point", 5, "  ", "reason_required"),
        ("point", 0, "why", "delta_invalid"),
        ("point", -41, "why", "insufficient_balance"),
        ("stamp", 6, "why", "stamps_exceed_card"),
    ],
)
def test_adjust_check_refuses_what_adjust_refuses(
    organization, programs, staff, card_type, delta, reason, code
):
    customer = create_customer(organization, points=40, stamps=4)
    before = snapshot(organization)
    with tenant_context(organization):
        with refused(code):
            card_adjust_check(customer=customer, card_type=card_type, delta=delta, reason=reason)
        with refused(code):
            card_adjust(customer=customer, card_type=card_type, delta=delta, reason=reason, staff_user=staff)
        assert not AuditLogEntry.objects.exists()
    assert snapshot(organization) == before


def test_adjust_writes_the_ledger_and_its_audit_record_and_spends_the_challenge(
    organization, programs, staff
):
    customer = create_customer(organization, points=40)
    challenge = challenge_for(organization, customer, "adjust")
    with tenant_context(organization):
        card_adjust_check(customer=customer, card_type="point", delta=-15, reason="Double scan")
        entry = card_adjust(
            customer=customer,
            card_type="point",
            delta=-15,
            reason=" Double scan ",
            staff_user=staff,
            pin_challenge_id=challenge.pk,
        )
        audit = AuditLogEntry.objects.get()
    assert (entry.cause, entry.delta, entry.balance_after, entry.note, entry.staff_user_id) == (
        "adjust",
        -15,
        25,
        "Double scan",
        staff.pk,
    )
    assert (audit.actor_id, audit.action, audit.details) == (
        staff.pk,
        "programs.adjust",
        {"delta": -15, "reason": "Double scan", "entry": entry.pk, "balance": 25},
    )
    assert challenge_status(organization, challenge) == "spent"


# balance_updated: one event per change, after commit, with the balances after it ------------------


def test_earn_points_pushes_one_balance_update(
    organization, programs, listen, django_capture_on_commit_callbacks
):
    customer = create_customer(organization, points=5, stamps=2)
    listener = listen(customer)
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        customer_earn(customer=customer, amount=Decimal("10"), card_type="point", external_id="e")
        assert listener.events() == []  # nothing before commit
    assert listener.events() == [("balance_updated", {"stamps": 2, "points": 15})]


def test_earn_that_fills_a_card_pushes_one_balance_update(
    organization, programs, listen, django_capture_on_commit_callbacks
):
    customer = create_customer(organization, points=3, stamps=8)
    listener = listen(customer)
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        customer_earn(customer=customer, amount=4, card_type="stamp", external_id="e")
    assert listener.events() == [("balance_updated", {"stamps": 2, "points": 3})]


def test_earn_of_no_points_pushes_nothing(organization, programs, listen, django_capture_on_commit_callbacks):
    customer = create_customer(organization, points=3)
    listener = listen(customer)
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        change = customer_earn(customer=customer, amount=Decimal("0.50"), card_type="point", external_id="e")
    assert (change.applied, listener.events()) == (0, [])


def test_redeem_pushes_one_balance_update(organization, programs, listen, django_capture_on_commit_callbacks):
    customer = create_customer(organization, points=500, stamps=6)
    listener = listen(customer)
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        customer_redeem(customer=customer, value=4, card_type="stamp", external_id="r")
    assert listener.events() == [("balance_updated", {"stamps": 2, "points": 500})]


def test_a_refused_redeem_pushes_nothing(organization, programs, listen, django_capture_on_commit_callbacks):
    customer = create_customer(organization, points=50)
    listener = listen(customer)
    with (
        tenant_context(organization),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        refused("below_minimum"),
    ):
        customer_redeem(customer=customer, value=50, card_type="point", external_id="r")
    assert (callbacks, listener.events()) == ([], [])


def test_staff_adjustment_pushes_one_balance_update(
    organization, programs, staff, listen, django_capture_on_commit_callbacks
):
    customer = create_customer(organization, points=40, stamps=1)
    listener = listen(customer)
    with tenant_context(organization), django_capture_on_commit_callbacks(execute=True):
        card_adjust(customer=customer, card_type="stamp", delta=3, reason="Lost card", staff_user=staff)
    assert listener.events() == [("balance_updated", {"stamps": 4, "points": 40})]


def test_earns_and_redemptions_move_the_cards_last_visit_and_other_entries_do_not(organization, programs):
    """Card.last_visit_at is what segments read as the last visit (an earn or a redemption)."""
    from loyalty_platform.programs.models import Card

    customer = create_customer(organization)
    with tenant_context(organization):
        staff = User.objects.create_user(email="adjuster@example.com", password="x" * 20)

    def visits() -> dict[str, object]:
        with tenant_context(organization):
            return dict(Card.objects.filter(customer=customer).values_list("program__kind", "last_visit_at"))

    assert visits() == {"point": None, "stamp": None}
    with tenant_context(organization):
        card_adjust(customer=customer, card_type="point", delta=500, reason="welcome", staff_user=staff)
    assert visits() == {"point": None, "stamp": None}
    with tenant_context(organization):
        customer_earn(customer=customer, amount=Decimal("3"), card_type="stamp", external_id="v-1")
        earned = LedgerEntry.objects.get(external_id="v-1").created_at
    assert visits() == {"point": None, "stamp": earned}
    with tenant_context(organization):
        customer_redeem(customer=customer, value=100, card_type="point", external_id="v-2")
        redeemed = LedgerEntry.objects.get(external_id="v-2").created_at
    assert visits() == {"point": redeemed, "stamp": earned}
