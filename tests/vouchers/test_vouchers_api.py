import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.services import vouchers_generate, vouchers_import
from tests.pos_fixtures import PosClient, create_customer, run_at_once


def voucher(organization, **promotion_fields) -> Voucher:
    with tenant_context(organization):
        promotion = Promotion.objects.create(
            title="10% off",
            attributes={"mypos_discount_type": "percentage_discount", "mypos_discount_value": 10},
            **promotion_fields,
        )
        return vouchers_generate(promotion=promotion, count=1)[0]


def state(organization, code):
    with tenant_context(organization):
        v = Voucher.objects.get(code=code)
        return v.status, v.uses, VoucherRedemption.objects.filter(voucher=v, reversed_at__isnull=True).count()


def test_check_lock_redeem_and_reverse(organization, programs, pos):
    v = voucher(organization)
    pretty = f"{v.code[:4]}-{v.code[4:8]}-{v.code[8:]}".lower()

    found = pos.get(f"/webhook/vouchers/{pretty}").json()["data"]
    assert (found["code"], found["redeemable"], found["reason"], found["uses_left"]) == (
        v.code,
        True,
        None,
        1,
    )
    assert found["promotion"]["attributes"] == {
        "mypos_discount_type": "percentage_discount",
        "mypos_discount_value": 10,
    }

    lock = pos.post(f"/webhook/vouchers/{v.code}/lock", {"external_id": "l1"}).json()["data"]
    assert set(lock) == {"release_key", "locked_until"}
    assert (
        pos.post(f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r0"}).json()["error"]
        == "voucher_locked"
    )
    wrong = pos.post(f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r1", "release_key": "nope"})
    assert (wrong.status_code, wrong.json()) == (422, {"error": "release_key_invalid"})
    assert state(organization, v.code) == ("active", 0, 0)

    redeemed = pos.post(
        f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r2", "release_key": lock["release_key"]}
    )
    assert redeemed.json()["data"]["status"] == "redeemed"
    again = pos.post(f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r3"})
    assert (again.status_code, again.json()) == (409, {"error": "voucher_already_used"})

    reversed_ = pos.post(f"/webhook/vouchers/{v.code}/reverse", {"external_id": "rv"}).json()["data"]
    assert (reversed_["status"], reversed_["redeemable"]) == ("active", True)
    assert state(organization, v.code) == ("active", 0, 0)


def test_release_and_expired_lock(organization, programs, pos):
    v = voucher(organization)
    lock = pos.post(f"/webhook/vouchers/{v.code}/lock", {"external_id": "l1", "ttl_seconds": 30}).json()[
        "data"
    ]
    assert pos.post(f"/webhook/vouchers/{v.code}/release", {"release_key": "bad"}).json() == {
        "error": "release_key_invalid"
    }
    assert (
        pos.post(f"/webhook/vouchers/{v.code}/release", {"release_key": lock["release_key"]}).json()["data"][
            "locked_until"
        ]
        is None
    )

    pos.post(f"/webhook/vouchers/{v.code}/lock", {"external_id": "l2", "ttl_seconds": 30})
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        freed = pos.post(f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r"})
    assert freed.json()["data"]["status"] == "redeemed"


@pytest.mark.parametrize(
    ("fields", "body", "status", "code"),
    [
        ({"valid_until": timezone.now() - timedelta(days=1)}, {}, 410, "voucher_expired"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, {}, 422, "voucher_not_yet_valid"),
        ({"minimum_spend": Decimal("20.00")}, {"amount": "19.99"}, 422, "minimum_spend_not_met"),
        ({}, {"amount": "1.234"}, 422, "amount_invalid"),
        ({}, {"customer_code": 999994}, 404, "customer_not_found"),
        # The body's own fault comes first, before any look-up.
        ({}, {"customer_code": 999994, "amount": "1.234"}, 422, "amount_invalid"),
        ({}, {"extra": 1}, 422, "unknown_field"),
    ],
)
def test_redeem_refusals_change_nothing(organization, programs, pos, fields, body, status, code):
    v = voucher(organization, **fields)

    response = pos.post(f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r", **body})

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert state(organization, v.code) == ("active", 0, 0)


def test_minimum_spend_met_and_customer_linking_and_per_customer_limit(organization, programs, pos):
    customer = create_customer(organization)
    first = voucher(organization, minimum_spend=Decimal("20.00"), uses_per_customer=1)
    with tenant_context(organization):
        second = vouchers_generate(promotion=first.promotion, count=1)[0]

    used = pos.post(
        f"/webhook/vouchers/{first.code}/redeem",
        {"external_id": "a", "amount": "25.00", "customer_code": customer.customer_code},
    )
    limited = pos.post(
        f"/webhook/vouchers/{second.code}/redeem",
        {"external_id": "b", "amount": "25.00", "customer_code": customer.customer_code},
    )

    assert used.json()["data"]["customer_code"] == customer.customer_code
    assert (limited.status_code, limited.json()) == (422, {"error": "usage_limit_reached"})


def test_validate_checks_or_uses(organization, programs, pos):
    v = voucher(organization)
    check = pos.post("/webhook/vouchers/validate", {"code": v.code, "allow_future_validation": True})
    assert check.json()["data"]["redeemable"] is True and state(organization, v.code) == ("active", 0, 0)
    use = pos.post("/webhook/vouchers/validate", {"code": v.code})
    assert use.json()["data"]["promotion"]["attributes"]["mypos_discount_type"] == "percentage_discount"
    assert state(organization, v.code) == ("redeemed", 1, 1)
    assert pos.post("/webhook/vouchers/validate", {"code": v.code}).json() == {
        "error": "voucher_already_used"
    }


def test_unknown_malformed_and_foreign_codes(organization, programs, pos, pos_b):
    v = voucher(organization)
    for client, code in ((pos, "NOPE-NOPE-NOPE"), (pos, "x"), (pos_b, v.code)):
        response = client.get(f"/webhook/vouchers/{code}")
        assert (response.status_code, response.json()) == (404, {"error": "voucher_not_found"})
    assert pos_b.post(f"/webhook/vouchers/{v.code}/redeem", {"external_id": "r"}).json() == {
        "error": "voucher_not_found"
    }
    assert state(organization, v.code) == ("active", 0, 0)


def test_import_is_all_or_nothing(organization):
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Imported")
        assert vouchers_import(promotion=promotion, codes=["abc-123", "XYZ999"], pool="pos export") == 2
        with pytest.raises(Exception, match="voucher_code_duplicate"):
            vouchers_import(promotion=promotion, codes=["NEW111", "ABC123"], pool="again")
        assert sorted(Voucher.objects.values_list("code", flat=True)) == ["ABC123", "XYZ999"]


@pytest.mark.usefixtures("committed_db")
def test_50_simultaneous_redemptions_of_a_single_use_voucher_succeed_once(busy):
    organization, key = busy
    v = voucher(organization)

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            f"/webhook/vouchers/{v.code}/redeem", {"external_id": f"v-{uuid.uuid4().hex}"}
        )
        return response.status_code, response.json().get("error")

    assert Counter(run_at_once(50, call)) == {(200, None): 1, (409, "voucher_already_used"): 49}
    assert state(organization, v.code) == ("redeemed", 1, 1)


@pytest.mark.usefixtures("committed_db")
def test_150_redemptions_of_a_100_use_voucher_give_exactly_100(busy):
    organization, key = busy
    v = voucher(organization, uses_per_voucher=100)

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            f"/webhook/vouchers/{v.code}/redeem", {"external_id": f"v-{uuid.uuid4().hex}"}
        )
        return response.status_code, response.json().get("error")

    assert Counter(run_at_once(150, call)) == {(200, None): 100, (409, "voucher_already_used"): 50}
    assert state(organization, v.code) == ("redeemed", 100, 100)


@pytest.mark.usefixtures("committed_db")
def test_a_locked_voucher_cannot_be_taken_by_another_till(busy):
    organization, key = busy
    v = voucher(organization)
    till_a, till_b = (
        PosClient("test-concurrency.localhost", key),
        PosClient("test-concurrency.localhost", key),
    )
    lock = till_a.post(f"/webhook/vouchers/{v.code}/lock", {"external_id": f"l-{uuid.uuid4().hex}"}).json()[
        "data"
    ]

    def call(index):
        return till_b.client.post(
            f"/webhook/vouchers/{v.code}/redeem",
            data={"external_id": f"b-{uuid.uuid4().hex}"},
            content_type="application/json",
            HTTP_X_API_KEY=key,
        ).status_code

    assert Counter(run_at_once(10, call)) == {409: 10}
    done = till_a.post(
        f"/webhook/vouchers/{v.code}/redeem",
        {"external_id": f"a-{uuid.uuid4().hex}", "release_key": lock["release_key"]},
    )
    assert done.status_code == 200
    assert state(organization, v.code) == ("redeemed", 1, 1)


@pytest.mark.usefixtures("committed_db")
def test_one_customer_redeeming_ten_codes_of_a_once_per_customer_promotion_at_once_gets_one(busy):
    organization, key = busy
    customer = create_customer(organization, email=f"{uuid.uuid4().hex}@example.com")
    first = voucher(organization, uses_per_customer=1)
    with tenant_context(organization):
        codes = [first.code] + [v.code for v in vouchers_generate(promotion=first.promotion, count=9)]

    def call(index):
        response = PosClient("test-concurrency.localhost", key).post(
            f"/webhook/vouchers/{codes[index]}/redeem",
            {"external_id": f"c-{uuid.uuid4().hex}", "customer_code": customer.customer_code},
        )
        return response.status_code, response.json().get("error")

    assert Counter(run_at_once(10, call)) == {(200, None): 1, (422, "usage_limit_reached"): 9}
    with tenant_context(organization):
        assert (
            VoucherRedemption.objects.filter(voucher__promotion=first.promotion, customer=customer).count()
            == 1
        )
        assert sorted(Voucher.objects.filter(code__in=codes).values_list("uses", flat=True)) == [0] * 9 + [1]
