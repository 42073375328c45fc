"""The PIN state machine of gated POS calls, step by step, for each preset."""

import time_machine
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import open_pins_for_customer
from tests.pos_fixtures import balances, create_customer, snapshot


def set_preset(organization, preset: str, pin_length: int = 4) -> None:
    organization.verification_preset = preset
    organization.pin_length = pin_length
    organization.save()


def redeem(pos, customer, external_id="r-1", **fields):
    body = {
        "customer_code": customer.customer_code,
        "value": 100,
        "card_type": "point",
        "external_id": external_id,
    }
    return pos.post("/webhook/redeem", {**body, **fields})


def current_pin(organization, customer) -> str:
    with tenant_context(organization):
        return open_pins_for_customer(customer=customer)[0]["pin"]


def wrong(pin: str) -> str:
    return "".join(str((int(d) + 1) % 10) for d in pin)


def test_standard_asks_no_pin(organization, programs, pos):
    customer = create_customer(organization, points=300)
    assert redeem(pos, customer).json() == {"data": {"stamps": 0, "points": 200}}


def test_balanced_redeem_asks_pin_then_runs_with_the_right_one(organization, programs, pos):
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)

    prompt = redeem(pos, customer)
    body = prompt.json()
    assert prompt.status_code == 412
    assert body == {
        "error": "pin_required",
        "challenge_id": body["challenge_id"],
        "remaining_attempts": 3,
        "expires_at": body["expires_at"],
        "pin_length": 4,
    }
    assert balances(organization, customer)["point"] == (300, 300, 1)
    with tenant_context(organization):
        challenge = PinChallenge.objects.get(pk=body["challenge_id"])
        assert (challenge.action, challenge.status) == ("redeem", "open")
        pin = current_pin(organization, customer)
        assert pin not in challenge.pin_hash and len(pin) == 4

    done = redeem(pos, customer, verification_pin=pin, challenge_id=body["challenge_id"])

    assert done.json() == {"data": {"stamps": 0, "points": 200}}
    with tenant_context(organization):
        assert PinChallenge.objects.get(pk=body["challenge_id"]).status == "spent"
        assert open_pins_for_customer(customer=customer) == []


def test_balanced_earn_needs_no_pin_but_strict_does(organization, programs, pos):
    customer = create_customer(organization)
    set_preset(organization, "balanced")
    earn = {"customer_code": customer.customer_code, "amount": 5, "external_id": "e-1"}
    assert pos.post("/webhook/pos", earn).status_code == 200

    set_preset(organization, "strict")
    prompt = pos.post("/webhook/pos", {**earn, "external_id": "e-2"})
    assert (prompt.status_code, prompt.json()["error"]) == (412, "pin_required")
    done = pos.post(
        "/webhook/pos",
        {**earn, "external_id": "e-2", "verification_pin": current_pin(organization, customer)},
    )
    assert done.json() == {"data": {"stamps": 0, "points": 10}}


def test_strict_refuses_manual_code_entry(organization, programs, pos):
    set_preset(organization, "strict")
    customer = create_customer(organization, points=300)
    before = snapshot(organization)

    response = redeem(pos, customer, manual_code=True)

    assert (response.status_code, response.json()) == (422, {"error": "manual_code_disabled"})
    assert snapshot(organization) == before


def test_manual_code_is_allowed_below_strict(organization, programs, pos):
    customer = create_customer(organization, points=300)
    assert redeem(pos, customer, manual_code=True).status_code == 200


def test_wrong_pins_count_down_and_the_third_kills_the_challenge(organization, programs, pos):
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    challenge_id = redeem(pos, customer).json()["challenge_id"]
    bad = wrong(current_pin(organization, customer))

    first = redeem(pos, customer, verification_pin=bad)
    second = redeem(pos, customer, verification_pin=bad)
    third = redeem(pos, customer, verification_pin=bad)

    assert (first.status_code, first.json()) == (
        422,
        {"error": "pin_invalid", "challenge_id": challenge_id, "remaining_attempts": 2},
    )
    assert (second.status_code, second.json()) == (
        422,
        {"error": "pin_invalid", "challenge_id": challenge_id, "remaining_attempts": 1},
    )
    assert (third.status_code, third.json()) == (
        429,
        {"error": "pin_attempts_exceeded", "challenge_id": challenge_id},
    )
    with tenant_context(organization):
        assert PinChallenge.objects.get(pk=challenge_id).status == "failed"
    assert balances(organization, customer)["point"] == (300, 300, 1)

    # The dead challenge is gone: the next call with a PIN gets a new challenge.
    after = redeem(pos, customer, verification_pin=bad)
    assert after.status_code == 412
    assert after.json()["challenge_id"] != challenge_id


def test_leading_zeros_count(organization, programs, pos):
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    redeem(pos, customer)
    with tenant_context(organization):
        challenge = PinChallenge.objects.get(customer=customer, status="open")
        from loyalty_platform.verification.services import _pin_hash

        PinChallenge.objects.filter(pk=challenge.pk).update(pin_hash=_pin_hash(challenge.pk, "0042"))

    assert redeem(pos, customer, verification_pin="42").json()["error"] == "pin_invalid"
    assert redeem(pos, customer, verification_pin="042").json()["error"] == "pin_invalid"
    assert redeem(pos, customer, verification_pin="0042").json() == {"data": {"stamps": 0, "points": 200}}


def test_expired_challenge_is_refused_after_its_lifetime(organization, programs, pos):
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    challenge_id = redeem(pos, customer).json()["challenge_id"]
    pin = current_pin(organization, customer)

    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=settings.PIN_CHALLENGE_SECONDS + 1)):
        response = redeem(pos, customer, verification_pin=pin)

    assert (response.status_code, response.json()) == (
        422,
        {"error": "pin_expired", "challenge_id": challenge_id},
    )
    assert balances(organization, customer)["point"] == (300, 300, 1)


def test_a_new_challenge_replaces_the_open_one(organization, programs, pos):
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    first_id = redeem(pos, customer).json()["challenge_id"]
    old_pin = current_pin(organization, customer)

    second_id = redeem(pos, customer).json()["challenge_id"]

    with tenant_context(organization):
        assert PinChallenge.objects.get(pk=first_id).status == "replaced"
        assert [p["challenge_id"] for p in open_pins_for_customer(customer=customer)] == [second_id]
    # The old challenge's id no longer matches the open one: a fresh challenge is issued.
    stale = redeem(pos, customer, verification_pin=old_pin, challenge_id=first_id)
    assert stale.status_code == 412


def test_challenges_for_different_actions_are_independent(organization, programs, pos):
    set_preset(organization, "strict")
    customer = create_customer(organization, points=300)
    redeem_id = redeem(pos, customer).json()["challenge_id"]
    earn = pos.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 5, "external_id": "e-1"}
    )

    with tenant_context(organization):
        statuses = dict(PinChallenge.objects.filter(customer=customer).values_list("action", "status"))
    assert earn.status_code == 412 and earn.json()["challenge_id"] != redeem_id
    assert statuses == {"redeem": "open", "earn": "open"}


def test_six_digit_pins(organization, programs, pos):
    set_preset(organization, "balanced", pin_length=6)
    customer = create_customer(organization, points=300)

    prompt = redeem(pos, customer).json()

    assert prompt["pin_length"] == 6
    assert len(current_pin(organization, customer)) == 6


def test_pin_retry_with_the_same_external_id_is_processed_not_replayed(organization, programs, pos):
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    assert redeem(pos, customer, external_id="same").status_code == 412

    done = redeem(pos, customer, external_id="same", verification_pin=current_pin(organization, customer))
    replay = redeem(pos, customer, external_id="same", verification_pin="9999")

    assert done.json() == {"data": {"stamps": 0, "points": 200}}
    assert replay.content == done.content
    assert balances(organization, customer)["point"] == (200, 200, 2)


def test_repeated_failures_lock_the_customer_with_423(organization, programs, pos, settings):
    settings.PIN_LOCK_MAX_WRONG = 4
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    redeem(pos, customer)
    statuses = []
    for _ in range(5):
        response = redeem(pos, customer, verification_pin=wrong(current_pin(organization, customer)))
        statuses.append(response.status_code)
        if response.status_code == 429:
            redeem(pos, customer)  # a new challenge after the dead one

    locked = redeem(pos, customer, verification_pin="0000")

    assert statuses[:4] == [422, 422, 429, 422]
    assert locked.status_code == 423
    assert locked.json()["error"] == "pin_locked"
    assert 0 < locked.json()["retry_after"] <= settings.PIN_LOCK_SECONDS
    assert redeem(pos, customer).status_code == 423  # no new challenge while locked
    assert balances(organization, customer)["point"] == (300, 300, 1)


def test_too_many_challenges_lock_the_customer(organization, programs, pos, settings):
    settings.PIN_LOCK_MAX_CHALLENGES = 3
    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)

    statuses = [redeem(pos, customer).status_code for _ in range(4)]

    assert statuses == [412, 412, 412, 423]


def test_coupon_redemption_asks_pin_under_balanced(organization, programs, pos):
    from loyalty_platform.coupons.services import coupon_issue

    set_preset(organization, "balanced")
    customer = create_customer(organization)
    with tenant_context(organization):
        coupon = coupon_issue(customer=customer, program=programs["stamp"])

    prompt = pos.post("/webhook/coupons/redeem", {"token": coupon.qr_token})
    assert (prompt.status_code, prompt.json()["error"]) == (412, "pin_required")
    done = pos.post(
        "/webhook/coupons/redeem",
        {"token": coupon.qr_token, "verification_pin": current_pin(organization, customer)},
    )
    assert done.json()["data"]["status"] == "redeemed"


def test_pin_issued_event_is_pushed_to_the_customers_group_on_commit(
    organization, programs, pos, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from loyalty_platform.realtime.publish import customer_group

    set_preset(organization, "balanced")
    customer = create_customer(organization, points=300)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(customer_group(organization.schema_name, customer.pk), channel)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        prompt = redeem(pos, customer).json()

    assert len(callbacks) == 1
    message = async_to_sync(layer.receive)(channel)
    assert message["event"] == "pin_issued"
    import json

    assert json.loads(message["data"]) == {
        "challenge_id": prompt["challenge_id"],
        "pin": current_pin(organization, customer),
        "action": "redeem",
        "summary": "Redeem 100 points",
        "expires_at": prompt["expires_at"],
    }
