from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_issue
from tests.pos_fixtures import create_customer, snapshot


def make_coupon(organization, programs, **fields):
    customer = create_customer(organization)
    with tenant_context(organization):
        coupon = coupon_issue(customer=customer, program=programs["stamp"])
        if fields:
            Coupon.objects.filter(pk=coupon.pk).update(**fields)
            coupon.refresh_from_db()
    return coupon


def test_redeem_a_coupon(organization, programs, pos):
    coupon = make_coupon(organization, programs)

    response = pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token})

    with tenant_context(organization):
        coupon.refresh_from_db()
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "id": str(coupon.pk),
            "name": "Free Coffee",
            "status": "redeemed",
            "qr_token": coupon.qr_token,
            "issued_at": coupon.issued_at.isoformat(),
            "redeemed_at": coupon.redeemed_at.isoformat(),
        }
    }


def test_second_redemption_is_409(organization, programs, pos):
    coupon = make_coupon(organization, programs)
    pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token})
    before = snapshot(organization)

    response = pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token})

    assert (response.status_code, response.json()) == (409, {"error": "coupon_already_used"})
    assert snapshot(organization) == before


def test_expired_coupon_is_410(organization, programs, pos):
    coupon = make_coupon(organization, programs, expires_at=timezone.now() - timedelta(seconds=1))
    before = snapshot(organization)

    response = pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token})

    assert (response.status_code, response.json()) == (410, {"error": "coupon_expired"})
    assert snapshot(organization) == before


def test_unknown_void_and_foreign_tokens_are_404(organization, other_organization, programs, pos, pos_b):
    void = make_coupon(organization, programs, status="void")
    mine = make_coupon(organization, programs)
    before = snapshot(organization)

    for client, token in ((pos, "cq_unknown"), (pos, void.qr_token), (pos_b, mine.qr_token)):
        response = client.post("/webhook/coupons/redeem", {"token": token})
        assert (response.status_code, response.json()) == (404, {"error": "coupon_not_found"})

    assert snapshot(organization) == before


def test_coupon_redeem_bad_input(organization, programs, pos):
    before = snapshot(organization)
    cases = [
        ({}, "token_required"),
        ({"token": ""}, "token_required"),
        ({"token": 5}, "token_invalid"),
        ({"token": "cq_" + "x" * 200}, "token_invalid"),
        ({"token": "cq_x", "extra": 1}, "unknown_field"),
        ({"token": "cq_x", "manual_code": 1}, "manual_code_invalid"),
    ]
    for body, code in cases:
        response = pos.post("/webhook/coupons/redeem", body)
        assert (response.status_code, response.json()["error"]) == (422, code), body
    assert snapshot(organization) == before


def test_coupon_redeem_with_external_id_replays(organization, programs, pos):
    coupon = make_coupon(organization, programs)
    body = {"token": coupon.qr_token, "external_id": "c-1"}

    first = pos.post("/webhook/coupons/redeem", body)
    second = pos.post("/webhook/coupons/redeem", body)

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
