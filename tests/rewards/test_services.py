"""Reward receptions called directly: the pre-check before the PIN step, the challenge the
service spends, and one balance_updated per change."""

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.rewards.models import Reward
from loyalty_platform.rewards.services import (
    reward_reception_check,
    reward_reception_create,
    reward_reception_reverse,
)
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue
from tests.pos_fixtures import balances, create_customer, refused, snapshot


@pytest.fixture
def coffee(organization, programs) -> Reward:
    with tenant_context(organization):
        return Reward.objects.create(name="Coffee", required_credits=100)


@pytest.mark.parametrize(
    ("points", "reward_fields", "pre_redeem", "code"),
    [
        (99, {}, False, "insufficient_balance"),
        (500, {"allow_pre_redeem": False}, True, "pre_redeem_not_allowed"),
        (500, {"is_active": False}, False, "reward_not_found"),
    ],
)
def test_reception_check_refuses_what_the_reception_refuses(
    organization, coffee, points, reward_fields, pre_redeem, code
):
    customer = create_customer(organization, points=points)
    with tenant_context(organization):
        Reward.objects.filter(pk=coffee.pk).update(**reward_fields)
        coffee.refresh_from_db()
    before = snapshot(organization)
    with tenant_context(organization):
        with refused(code):
            reward_reception_check(reward=coffee, customer=customer, pre_redeem=pre_redeem)
        with refused(code):
            reward_reception_create(reward=coffee, customer=customer, pre_redeem=pre_redeem)
    assert snapshot(organization) == before


def test_reception_spends_its_challenge_and_reverse_gives_the_points_back(organization, coffee):
    customer = create_customer(organization, points=150)
    with tenant_context(organization):
        challenge = pin_challenge_issue(
            organization=organization, customer=customer, action="redeem"
        ).challenge
        reward_reception_check(reward=coffee, customer=customer)
        reception = reward_reception_create(
            reward=coffee, customer=customer, external_id="rx", pin_challenge_id=challenge.pk
        )
        assert PinChallenge.objects.get(pk=challenge.pk).status == "spent"
        assert balances(organization, customer)["point"] == (50, 50, 2)
        reward_reception_reverse(reception_id=reception.pk, external_id="rv")
    assert balances(organization, customer)["point"] == (150, 150, 3)


def test_reception_and_its_reversal_each_push_one_balance_update(
    organization, coffee, listen, django_capture_on_commit_callbacks
):
    # Before: neither pushed anything (only the earn view and orders did).
    customer = create_customer(organization, points=150, stamps=3)
    listener = listen(customer)
    with tenant_context(organization):
        with django_capture_on_commit_callbacks(execute=True):
            reception = reward_reception_create(reward=coffee, customer=customer, external_id="rx")
        assert listener.events() == [("balance_updated", {"stamps": 3, "points": 50})]
        with django_capture_on_commit_callbacks(execute=True):
            reward_reception_reverse(reception_id=reception.pk, external_id="rv")
    assert listener.events() == [("balance_updated", {"stamps": 3, "points": 150})]
