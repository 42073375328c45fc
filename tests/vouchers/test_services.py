"""Vouchers called directly: a minimum spend cannot be skipped by leaving out the amount, and
validate either uses the voucher (saying which use it made) or only checks it."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.services import (
    voucher_check,
    voucher_redeem,
    voucher_validate,
    vouchers_generate,
)
from tests.pos_fixtures import create_customer, refused


def voucher(organization, **promotion_fields) -> Voucher:
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="5 off", **promotion_fields)
        return vouchers_generate(promotion=promotion, count=1)[0]


def state(organization, code):
    with tenant_context(organization):
        v = Voucher.objects.get(code=code)
        return v.status, v.uses, VoucherRedemption.objects.filter(voucher=v, reversed_at__isnull=True).count()


def test_a_minimum_spend_needs_the_amount(organization):
    # Before: leaving the amount out redeemed the voucher whatever the basket.
    v = voucher(organization, minimum_spend=Decimal("20.00"))
    with tenant_context(organization), refused("amount_required") as caught:
        voucher_redeem(code=v.code, external_id="r")
    assert caught.value.extra == {"field": "amount"}
    assert state(organization, v.code) == ("active", 0, 0)

    with tenant_context(organization):
        with refused("minimum_spend_not_met"):
            voucher_redeem(code=v.code, amount=Decimal("19.99"))
        voucher_redeem(code=v.code, amount=Decimal("20.00"))
    assert state(organization, v.code) == ("redeemed", 1, 1)


def test_without_a_minimum_spend_the_amount_may_be_left_out(organization):
    v = voucher(organization)
    with tenant_context(organization):
        voucher_redeem(code=v.code)
    assert state(organization, v.code) == ("redeemed", 1, 1)


def test_check_uses_nothing_and_refuses_as_a_use_would(organization):
    v = voucher(organization, minimum_spend=Decimal("20.00"))
    with tenant_context(organization):
        assert voucher_check(code=v.code).pk == v.pk
        assert voucher_check(code=v.code, amount=Decimal("25")).pk == v.pk
        with refused("minimum_spend_not_met"):
            voucher_check(code=v.code, amount=Decimal("5"))
        with refused("voucher_not_found"):
            voucher_check(code="NOPE-NOPE-NOPE")
    assert state(organization, v.code) == ("active", 0, 0)


def test_check_refuses_another_customers_voucher(organization):
    owner, stranger = create_customer(organization), create_customer(organization)
    v = voucher(organization)
    with tenant_context(organization):
        Voucher.objects.filter(pk=v.pk).update(customer=owner)
        assert voucher_check(code=v.code, customer=owner).pk == v.pk
        with refused("voucher_not_found"):
            voucher_check(code=v.code, customer=stranger)


def test_validate_only_checking_changes_nothing(organization):
    v = voucher(organization)
    with tenant_context(organization):
        done = voucher_validate(code=v.code, use=False)
    assert (done.used, done.redemption, done.voucher.pk) == (False, None, v.pk)
    assert state(organization, v.code) == ("active", 0, 0)


def test_validate_using_says_which_use_it_made(organization):
    v = voucher(organization, uses_per_voucher=2)
    with tenant_context(organization):
        done = voucher_validate(code=v.code, external_id="till-7", api_key_lookup_id="k1")
        redemption = VoucherRedemption.objects.get(voucher=v)
    assert (done.used, done.redemption.pk, done.redemption.external_id) == (True, redemption.pk, "till-7")
    assert (done.voucher.uses, done.voucher.status) == (1, "active")
    assert state(organization, v.code) == ("active", 1, 1)


@pytest.mark.parametrize("use", [True, False])
def test_validate_with_a_minimum_spend_checks_the_amount(organization, use):
    v = voucher(organization, minimum_spend=Decimal("20.00"))
    with tenant_context(organization), refused("minimum_spend_not_met"):
        voucher_validate(code=v.code, use=use, amount=Decimal("10"))
    assert state(organization, v.code) == ("active", 0, 0)
