"""Coupon redemption called directly: the pre-check before the PIN step and the challenge
the service spends."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_issue, coupon_redeem, coupon_redeem_check
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_issue
from tests.pos_fixtures import create_customer, refused, snapshot


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"status": "redeemed"}, "coupon_already_used"),
        ({"status": "void"}, "coupon_not_found"),
        ({"status": "expired"}, "coupon_expired"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "coupon_expired"),
    ],
)
def test_coupon_check_refuses_what_redeem_refuses(organization, programs, fields, code):
    customer = create_customer(organization)
    with tenant_context(organization):
        coupon = coupon_issue(customer=customer, program=programs["stamp"])
        Coupon.objects.filter(pk=coupon.pk).update(**fields)
        coupon.refresh_from_db()
    before = snapshot(organization)
    with tenant_context(organization):
        with refused(code):
            coupon_redeem_check(coupon=coupon)
        with refused(code):
            coupon_redeem(coupon_id=coupon.pk)
    assert snapshot(organization) == before


def test_coupon_redeem_spends_its_challenge_once(organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        first, second = (coupon_issue(customer=customer, program=programs["stamp"]) for _ in range(2))
        challenge = pin_challenge_issue(
            organization=organization, customer=customer, action="coupon_redeem"
        ).challenge
        coupon_redeem_check(coupon=first)
        assert coupon_redeem(coupon_id=first.pk, pin_challenge_id=challenge.pk).status == "redeemed"
        assert PinChallenge.objects.get(pk=challenge.pk).status == "spent"
        with refused("pin_already_used"):
            coupon_redeem(coupon_id=second.pk, pin_challenge_id=challenge.pk)
        assert Coupon.objects.get(pk=second.pk).status == "active"
