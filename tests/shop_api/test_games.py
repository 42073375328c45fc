"""Games through the unmodified SDK: the organization's stamp program as the "stamp_card"
game, a customer's progress on their stamp card, stamps added through the POS API's earn,
the reward of a full card (a coupon), a restart through an audited adjustment."""

import random
import time
from dataclasses import dataclass

import pytest
import requests
from django.db import connections, transaction

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_redeem, coupon_void
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import card_block, customer_block, customer_enroll
from loyalty_platform.programs.models import Card, LedgerEntry, Program
from loyalty_platform.programs.services import card_number_candidate
from loyalty_platform.shops.models import Shop
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import open_pins_for_customer
from loyalty_platform.webhooks.models import WebhookEndpoint, WebhookEvent
from tenants.models import Organization
from tests.balance_events import CustomerListener
from tests.campaigns.boosts_helpers import bonus_stamps, campaign_with, list_segment
from tests.pos_fixtures import committed_organization, create_customer, issue_key, run_at_once, snapshot
from tests.shop_api.conftest import in_shop, make_sdk, refused, shop_credentials, unique_email

GAME_TYPE = "stamp_card"


@dataclass(frozen=True)
class Place:
    """What an organization of these tests holds besides customers."""

    game: int  # the active stamp program
    point_program: int
    retired_game: int  # an inactive stamp program
    shop: int
    closed_shop: int


@dataclass(frozen=True)
class Member:
    customer: Customer
    stamp_card: int
    point_card: int


def place_in(organization: Organization) -> Place:
    with in_shop(organization):
        retired = Program.objects.create(
            kind="stamp", name="Old card", stamps_per_card=5, reward_name="Old reward", is_active=False
        )
        return Place(
            game=Program.objects.get(kind="stamp", is_active=True).pk,
            point_program=Program.objects.get(kind="point", is_active=True).pk,
            retired_game=retired.pk,
            shop=Shop.objects.create(name="Games shop").pk,
            closed_shop=Shop.objects.create(name="Closed shop", is_active=False).pk,
        )


@pytest.fixture(scope="module")
def place(shop_organization, django_db_blocker) -> Place:
    with django_db_blocker.unblock():
        found = place_in(shop_organization)
        connections.close_all()
    return found


class Raw:
    """Calls the SDK cannot make (extension fields, wrong types, raw bytes) with one key."""

    def __init__(self, server, key: str):
        api_key, secret = shop_credentials(key)
        self.base = f"http://localhost:{server.port}/en/shop"
        self.headers = {"X-API-Key": api_key, "X-API-Secret": secret, "Content-Type": "application/json"}

    def __call__(self, method: str, path: str, *, body=None, data: bytes | None = None, params=None):
        return requests.request(
            method,
            f"{self.base}{path}",
            json=body if data is None else None,
            data=data,
            params=params,
            headers=self.headers,
            timeout=15,
        )


@pytest.fixture
def raw(server, shop_key) -> Raw:
    return Raw(server, shop_key)


def member(organization: Organization, *, stamps: int = 0, points: int = 0) -> Member:
    customer = create_customer(organization, stamps=stamps, points=points)
    with in_shop(organization):
        cards = dict(Card.objects.filter(customer=customer).values_list("program__kind", "pk"))
    return Member(customer=customer, stamp_card=cards["stamp"], point_card=cards["point"])


def card_row(organization: Organization, card_id: int) -> Card:
    with in_shop(organization):
        return Card.objects.get(pk=card_id)


def stamp_entries(organization: Organization, someone: Member) -> list[tuple]:
    """(cause, delta, balance_after, api key) of the stamp card's entries after its set-up one."""
    with in_shop(organization):
        rows = LedgerEntry.objects.filter(card_id=someone.stamp_card).order_by("pk")
        return list(rows.values_list("cause", "delta", "balance_after", "api_key_lookup_id"))[1:]


def coupons_of(organization: Organization, customer: Customer) -> list[Coupon]:
    with in_shop(organization):
        return list(Coupon.objects.filter(customer=customer).order_by("issued_at", "pk"))


def lookup_id(key: str) -> str:
    return shop_credentials(key)[0].removeprefix("lty_")


def coupon_json(coupon: Coupon, status: str = "active") -> dict:
    return {
        "id": str(coupon.pk),
        "code": coupon.qr_token,
        "name": coupon.name,
        "status": status,
        "issued_at": coupon.issued_at.isoformat(),
        "expires_at": coupon.expires_at.isoformat() if coupon.expires_at else None,
        "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
    }


def state(organization: Organization) -> dict:
    """Everything a games call may change, in the whole organization."""
    with in_shop(organization):
        extra = {"audit": AuditLogEntry.objects.count(), "events": WebhookEvent.objects.count()}
    return {**snapshot(organization), **extra}


def balance_updates(listener: CustomerListener, count: int) -> list[dict]:
    """The balance_updated events that reached the customer's channel, waiting for `count`
    (the web server hands its sends to its event loop after answering)."""
    received: list[dict] = []
    deadline = time.monotonic() + 15
    while len(received) < count and time.monotonic() < deadline:
        received += listener.events("balance_updated")
        time.sleep(0.05)
    return received + listener.events("balance_updated")


def expected_game(organization: Organization, game_id: int) -> dict:
    with in_shop(organization):
        program = Program.objects.get(pk=game_id)
    return {
        "id": game_id,
        "name": "Coffee",
        "description": "",
        "type": GAME_TYPE,
        "image": None,
        "is_active": True,
        "is_featured": False,
        "categories": [],
        "points_cost": None,
        "daily_limit": None,
        "total_limit": None,
        "min_score_for_reward": 10,
        "total_steps": 10,
        "rewards": [{"type": "coupon", "name": "Free Coffee", "steps_required": 10, "valid_days": None}],
        "game_config": {"stamps_per_card": 10, "reward_name": "Free Coffee", "coupon_valid_days": None},
        "instructions": "",
        "created_at": program.created_at.isoformat(),
        "updated_at": program.created_at.isoformat(),
    }


def expected_progress(organization: Organization, game_id: int, someone: Member, waiting=()) -> dict:
    card = card_row(organization, someone.stamp_card)
    return {
        "game_id": game_id,
        "card_id": someone.stamp_card,
        "user_id": someone.customer.pk,
        "type": GAME_TYPE,
        "current_step": card.balance,
        "total_steps": 10,
        "stamps_remaining": 10 - card.balance,
        "is_completed": bool(waiting),
        "completed_cards": len(waiting),
        "reward": {
            "name": "Free Coffee",
            "coupons_waiting": len(waiting),
            "coupons": [coupon_json(coupon) for coupon in waiting],
        },
        "updated_at": card.updated_at.isoformat(),
    }


# --- Reads ----------------------------------------------------------------------------------


def test_the_stamp_program_is_the_one_game(sdk, shop_organization, place):
    listed = sdk.list_games(place.shop)

    assert listed == {
        "data": [expected_game(shop_organization, place.game)],
        "meta": {"current_page": 1, "per_page": 15, "total": 1, "last_page": 1},
    }
    assert sdk.list_games(place.shop, type=GAME_TYPE)["data"] == listed["data"]
    assert sdk.list_games(place.shop, type="quiz") == {
        "data": [],
        "meta": {"current_page": 1, "per_page": 15, "total": 0, "last_page": 1},
    }
    assert sdk.list_games(place.shop, per_page=1, page=2) == {
        "data": [],
        "meta": {"current_page": 2, "per_page": 1, "total": 1, "last_page": 1},
    }


def test_a_game_with_a_customers_progress(sdk, raw, shop_organization, place):
    someone = member(shop_organization, stamps=7)
    progress = expected_progress(shop_organization, place.game, someone)
    assert (progress["current_step"], progress["stamps_remaining"], progress["is_completed"]) == (7, 3, False)

    assert sdk.get_game_progress(place.game, someone.stamp_card) == progress
    # Any card of the customer names them: the point card gives the same progress.
    assert sdk.get_game_progress(place.game, someone.point_card) == progress
    assert sdk.get_game(place.game, someone.point_card) == {
        **expected_game(shop_organization, place.game),
        "progress": progress,
    }
    # Without card_id: the game alone.
    assert raw("GET", f"/games/{place.game}").json() == {
        "success": True,
        "data": expected_game(shop_organization, place.game),
    }


def test_progress_before_the_first_stamp(sdk, shop_organization, place):
    with in_shop(shop_organization):
        customer, _ = customer_enroll(email=unique_email(), consent_terms=True, consent_privacy=True)
        point_card = Card.objects.create(
            customer=customer, program_id=place.point_program, card_number=card_number_candidate()
        )

    assert sdk.get_game_progress(place.game, point_card.pk) == {
        "game_id": place.game,
        "card_id": None,
        "user_id": customer.pk,
        "type": GAME_TYPE,
        "current_step": 0,
        "total_steps": 10,
        "stamps_remaining": 10,
        "is_completed": False,
        "completed_cards": 0,
        "reward": {"name": "Free Coffee", "coupons_waiting": 0, "coupons": []},
        "updated_at": None,
    }
    error = refused(sdk.restart_game, place.game, point_card.pk, place.shop)
    assert (error.http_status, error.code) == (409, "GAME_PROGRESS_EMPTY")


def test_a_cards_games_and_its_history(sdk, shop_organization, place):
    someone = member(shop_organization, stamps=9)
    first = sdk.add_stamps(place.game, someone.stamp_card, place.shop, 1)
    sdk.add_stamps(place.game, someone.stamp_card, place.shop, 10)
    third = sdk.add_stamps(place.game, someone.stamp_card, place.shop, 10)
    redeemed, voided, waiting = coupons_of(shop_organization, someone.customer)
    with in_shop(shop_organization):
        redeemed = coupon_redeem(coupon_id=redeemed.pk, external_id="till-1")
        coupon_void(coupon_id=voided.pk)
    assert (first["cards_completed"], third["reward"]["coupons"][0]["id"]) == (1, str(waiting.pk))

    games = sdk.get_card_games(someone.point_card)
    assert games == [
        {
            **expected_game(shop_organization, place.game),
            "progress": {
                **expected_progress(shop_organization, place.game, someone, waiting=[waiting]),
                "completed_cards": 2,  # the cancelled coupon's card does not count
            },
        }
    ]
    assert sdk.get_card_games(someone.stamp_card, shop_id=place.shop) == games

    history = sdk.get_game_history(someone.stamp_card)
    assert history == [
        {
            "id": str(coupon.pk),
            "user_id": someone.customer.pk,
            "game_id": place.game,
            "game_name": "Coffee",
            "type": GAME_TYPE,
            "status": "completed",
            "total_steps": 10,
            "completed_at": coupon.issued_at.isoformat(),
            "reward": {"name": "Free Coffee", "coupon": coupon_json(coupon, status)},
        }
        for coupon, status in ((waiting, "active"), (voided, "cancelled"), (redeemed, "redeemed"))
    ]
    assert sdk.get_game_history(someone.point_card, shop_id=place.shop) == history
    assert sdk.get_game_history(member(shop_organization).stamp_card) == []


# --- Adding stamps --------------------------------------------------------------------------


def test_add_stamps_earns_them_as_the_pos_api_does(sdk, shop_key, shop_organization, place):
    someone = member(shop_organization, stamps=7, points=40)
    listener = CustomerListener(shop_organization, someone.customer)
    try:
        added = sdk.add_stamps(place.game, someone.point_card, place.shop, 2)
        filled = sdk.add_stamps(place.game, someone.stamp_card, place.shop, 3)
        updates = balance_updates(listener, 2)
    finally:
        listener.close()

    base = {"game_id": place.game, "card_id": someone.stamp_card, "user_id": someone.customer.pk}
    assert added == {
        **base,
        "type": GAME_TYPE,
        "stamps_added": 2,
        "current_step": 9,
        "total_steps": 10,
        "stamps_remaining": 1,
        "is_completed": False,
        "cards_completed": 0,
        "reward": {"name": "Free Coffee", "coupons": []},
        "transaction_id": added["transaction_id"],
    }
    (coupon,) = coupons_of(shop_organization, someone.customer)
    assert filled == {
        **base,
        "type": GAME_TYPE,
        "stamps_added": 3,
        "current_step": 2,
        "total_steps": 10,
        "stamps_remaining": 8,
        "is_completed": True,
        "cards_completed": 1,
        "reward": {"name": "Free Coffee", "coupons": [coupon_json(coupon)]},
        "transaction_id": filled["transaction_id"],
    }
    assert added["transaction_id"].startswith("shop-stamps-")
    assert added["transaction_id"] != filled["transaction_id"]
    key = lookup_id(shop_key)
    assert stamp_entries(shop_organization, someone) == [
        ("earn", 2, 9, key),
        ("earn", 3, 12, key),
        ("reward", -10, 2, key),
    ]
    with in_shop(shop_organization):
        assert list(
            LedgerEntry.objects.filter(card_id=someone.stamp_card, cause="earn")
            .order_by("pk")
            .values_list("external_id", flat=True)
        ) == [added["transaction_id"], filled["transaction_id"]]
        assert coupon.issuing_entry.cause == "reward"
    assert updates == [{"stamps": 9, "points": 40}, {"stamps": 2, "points": 40}]
    assert sdk.get_game_progress(place.game, someone.stamp_card) == expected_progress(
        shop_organization, place.game, someone, waiting=[coupon]
    )


def test_add_stamps_records_the_webhook_events_of_an_earn(sdk, shop_organization, place):
    someone = member(shop_organization, stamps=8)
    with in_shop(shop_organization):
        endpoint = WebhookEndpoint.objects.create(
            url="http://127.0.0.1:9/hook", event_types=["stamps.earned", "coupon.issued"]
        )
    try:
        added = sdk.add_stamps(place.game, someone.stamp_card, place.shop, 2)
    finally:
        with in_shop(shop_organization):
            endpoint.delete()

    with in_shop(shop_organization):
        events = list(
            WebhookEvent.objects.filter(customer_id=someone.customer.pk)
            .order_by("pk")
            .values_list("type", "data")
        )
        earn = LedgerEntry.objects.get(card_id=someone.stamp_card, cause="earn", delta=2)
        card = Card.objects.get(pk=someone.stamp_card)
    (coupon,) = coupons_of(shop_organization, someone.customer)
    assert [event_type for event_type, _ in events] == ["coupon.issued", "stamps.earned"]
    assert events[1][1] == {
        "customer": {"customer_code": someone.customer.customer_code},
        "card_number": card.card_number,
        "stamps": 2,
        "balance": 0,
        "ledger_entry_id": earn.pk,
        "external_id": added["transaction_id"],
        "shop_id": place.shop,
        "source": "till",
        "coupons_issued": 1,
    }
    assert events[0][1]["coupon"]["id"] == str(coupon.pk)


def test_campaign_bonus_stamps_fill_two_cards_in_one_call(sdk, shop_key, shop_organization, place):
    someone = member(shop_organization, stamps=7)
    with in_shop(shop_organization):
        campaign = campaign_with(
            bonus_stamps(15), name="Fifteen more", segment=list_segment(someone.customer, name="Bonus list")
        )
    try:
        added = sdk.add_stamps(place.game, someone.stamp_card, place.shop, 1)
    finally:
        with in_shop(shop_organization):
            campaign.status = Campaign.Status.ENDED
            campaign.save()

    first, second = coupons_of(shop_organization, someone.customer)
    assert {
        name: added[name] for name in ("stamps_added", "current_step", "is_completed", "cards_completed")
    } == {
        "stamps_added": 16,
        "current_step": 3,
        "is_completed": True,
        "cards_completed": 2,
    }
    assert added["reward"]["coupons"] == [coupon_json(first), coupon_json(second)]
    assert added["campaigns"] == [{"id": campaign.pk, "name": "Fifteen more", "stamps": 15}]
    key = lookup_id(shop_key)
    assert stamp_entries(shop_organization, someone) == [
        ("earn", 16, 23, key),
        ("reward", -10, 13, key),
        ("reward", -10, 3, key),
    ]


def test_add_stamps_is_not_idempotent_without_an_external_id(sdk, raw, shop_organization, place):
    """The SDK sends no idempotency key: the same call twice adds twice. The extension
    `external_id` makes a retry answer the first call's body and change nothing."""
    someone = member(shop_organization, stamps=1)
    sdk.add_stamps(place.game, someone.stamp_card, place.shop, 1)
    sdk.add_stamps(place.game, someone.stamp_card, place.shop, 1)
    assert card_row(shop_organization, someone.stamp_card).balance == 3

    body = {"card_id": someone.stamp_card, "shop_id": place.shop, "stamps_count": 2, "external_id": "sale-77"}
    first = raw("POST", f"/games/{place.game}/add-stamps", body=body)
    again = raw("POST", f"/games/{place.game}/add-stamps", body=body)
    other = raw("POST", f"/games/{place.game}/add-stamps", body={**body, "stamps_count": 3})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert (first.json()["data"]["current_step"], first.json()["data"]["transaction_id"]) == (5, "sale-77")
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert card_row(shop_organization, someone.stamp_card).balance == 5
    assert [entry[:3] for entry in stamp_entries(shop_organization, someone)] == [
        ("earn", 1, 2),
        ("earn", 1, 3),
        ("earn", 2, 5),
    ]


def test_add_stamps_refusals_change_nothing(sdk, server, shop_organization, place):
    someone = member(shop_organization, stamps=4)
    blocked = member(shop_organization, stamps=4)
    blocked_card = member(shop_organization, stamps=4)
    with in_shop(shop_organization):
        customer_block(customer=blocked.customer, actor=None, reason="test")
        card_block(card=Card.objects.get(pk=blocked_card.stamp_card), actor=None, reason="test")
    before = state(shop_organization)
    cases = [
        ((place.point_program, someone.stamp_card, place.shop, 1), 404, "GAME_NOT_FOUND"),
        ((place.retired_game, someone.stamp_card, place.shop, 1), 404, "GAME_NOT_FOUND"),
        ((10**12, someone.stamp_card, place.shop, 1), 404, "GAME_NOT_FOUND"),
        ((place.game, 10**12, place.shop, 1), 404, "CARD_NOT_FOUND"),
        ((place.game, someone.stamp_card, 10**12, 1), 404, "SHOP_NOT_FOUND"),
        ((place.game, someone.stamp_card, place.closed_shop, 1), 404, "SHOP_NOT_FOUND"),
        ((place.game, someone.stamp_card, place.shop, 0), 422, "STAMPS_COUNT_INVALID"),
        ((place.game, someone.stamp_card, place.shop, 11), 422, "STAMPS_COUNT_INVALID"),
        ((place.game, someone.stamp_card, place.shop, 10**30), 422, "STAMPS_COUNT_INVALID"),
        ((place.game, someone.stamp_card, place.shop, "2"), 422, "STAMPS_COUNT_INVALID"),
        ((place.game, someone.stamp_card, place.shop, True), 422, "STAMPS_COUNT_INVALID"),
        ((place.game, someone.stamp_card, place.shop, 2.0), 422, "STAMPS_COUNT_INVALID"),
        ((place.game, "x", place.shop, 1), 422, "CARD_ID_INVALID"),
        ((place.game, someone.stamp_card, -1, 1), 422, "SHOP_ID_INVALID"),
        ((place.game, blocked.point_card, place.shop, 1), 422, "CUSTOMER_BLOCKED"),
        ((place.game, blocked_card.point_card, place.shop, 1), 422, "CARD_BLOCKED"),
    ]

    answers = [refused(sdk.add_stamps, *arguments) for arguments, _, _ in cases]

    assert [(error.http_status, error.code) for error in answers] == [
        (status, code) for _, status, code in cases
    ]
    assert state(shop_organization) == before
    lithuanian = make_sdk(server, issue_key(shop_organization), locale="lt")
    error = refused(lithuanian.add_stamps, place.retired_game, someone.stamp_card, place.shop, 1)
    assert (error.code, error.message) == ("GAME_NOT_FOUND", "Žaidimas nerastas.")


def test_bad_bodies_are_refused_with_a_code(raw, shop_organization, place):
    someone = member(shop_organization, stamps=4)
    good = {"card_id": someone.stamp_card, "shop_id": place.shop, "stamps_count": 1}
    path = f"/games/{place.game}/add-stamps"
    before = state(shop_organization)
    cases = [
        ({"shop_id": place.shop}, 422, "CARD_ID_REQUIRED"),
        ({"card_id": someone.stamp_card}, 422, "SHOP_ID_REQUIRED"),
        ({**good, "colour": "red"}, 422, "UNKNOWN_FIELD"),
        ({**good, "card_id": None}, 422, "CARD_ID_REQUIRED"),
        ({**good, "card_id": 2**62 + 1}, 422, "CARD_ID_INVALID"),
        ({**good, "external_id": "a\u0000b"}, 400, "INVALID_CHARACTERS"),  # the request guard
        ({**good, "external_id": "a\tb"}, 422, "EXTERNAL_ID_INVALID"),
        ({**good, "verification_pin": 1234}, 422, "VERIFICATION_PIN_INVALID"),
        ([good], 422, "INVALID_BODY"),
    ]
    answers = [raw("POST", path, body=body) for body, _, _ in cases]
    too_many = raw("POST", path, body={**good, "stamps_count": 11})
    not_json = raw("POST", path, data=b'{"card_id": 1,')
    huge = raw("POST", path, data=b'{"card_id": 1e400, "shop_id": 1}')

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [
        (status, code) for _, status, code in cases
    ]
    assert (too_many.status_code, too_many.json()["code"], too_many.json()["max"]) == (
        422,
        "STAMPS_COUNT_INVALID",
        10,
    )
    assert (not_json.status_code, not_json.json()["code"]) == (400, "INVALID_JSON")
    assert (huge.status_code, huge.json()["code"]) == (422, "CARD_ID_INVALID")
    assert state(shop_organization) == before


def test_bad_query_strings_and_unknown_objects(sdk, raw, shop_organization, place):
    someone = member(shop_organization, stamps=4)
    before = state(shop_organization)
    cases = [
        (sdk.list_games, (10**12,), 404, "SHOP_NOT_FOUND"),
        (sdk.list_games, (place.closed_shop,), 404, "SHOP_NOT_FOUND"),
        (sdk.list_games, (0,), 422, "SHOP_ID_INVALID"),
        (sdk.get_game, (place.retired_game, someone.stamp_card), 404, "GAME_NOT_FOUND"),
        (sdk.get_game, (place.game, 10**12), 404, "CARD_NOT_FOUND"),
        (sdk.get_game_progress, (place.point_program, someone.stamp_card), 404, "GAME_NOT_FOUND"),
        (sdk.get_game_progress, (place.game, "abc"), 422, "CARD_ID_INVALID"),
        (sdk.get_card_games, (10**12,), 404, "CARD_NOT_FOUND"),
        (sdk.get_card_games, (someone.stamp_card, place.closed_shop), 404, "SHOP_NOT_FOUND"),
        (sdk.get_game_history, (10**12,), 404, "CARD_NOT_FOUND"),
        (sdk.get_game_history, (someone.stamp_card, 10**12), 404, "SHOP_NOT_FOUND"),
        (sdk.complete_game, (place.game, 10**12), 404, "CARD_NOT_FOUND"),
        (sdk.restart_game, (place.game, someone.stamp_card, place.closed_shop), 404, "SHOP_NOT_FOUND"),
    ]
    answers = [refused(call, *arguments) for call, arguments, _, _ in cases]
    assert [(error.http_status, error.code) for error in answers] == [
        (status, code) for _, _, status, code in cases
    ]

    raws = [
        (("GET", "/games", {"shop_id": place.shop, "type": "bingo"}), 422, "TYPE_INVALID"),
        (("GET", "/games", {"shop_id": place.shop, "colour": "red"}), 422, "UNKNOWN_FIELD"),
        (("GET", "/games", {"type": GAME_TYPE}), 422, "SHOP_ID_REQUIRED"),
        (("GET", "/games", {"shop_id": place.shop, "per_page": 101}), 422, "PER_PAGE_INVALID"),
        (("GET", f"/games/{place.game}/progress", {}), 422, "CARD_ID_REQUIRED"),
        (("GET", f"/games/{place.game}/progress", {"card_id": "1" * 40}), 422, "CARD_ID_INVALID"),
        (("GET", f"/games/{place.game}/progress", {"card_id": "1\u0000"}), 400, "INVALID_CHARACTERS"),
        (("GET", "/games/abc/progress", {"card_id": someone.stamp_card}), 404, "GAME_NOT_FOUND"),
        (("GET", f"/games/{'9' * 40}", {}), 404, "GAME_NOT_FOUND"),
        (("GET", "/games/0", {}), 404, "GAME_NOT_FOUND"),
        (("GET", "/cards/abc/games", {}), 404, "CARD_NOT_FOUND"),
        (("GET", f"/cards/{'9' * 40}/games/history", {}), 404, "CARD_NOT_FOUND"),
        (("GET", f"/games/{place.game}/add-stamps", {}), 405, "METHOD_NOT_ALLOWED"),
    ]
    answers = [raw(method, path, params=params) for (method, path, params), _, _ in raws]
    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [
        (status, code) for _, status, code in raws
    ]
    assert state(shop_organization) == before


# --- Completing and restarting --------------------------------------------------------------


def test_complete_answers_the_coupon_the_full_card_issued(sdk, shop_organization, place):
    someone = member(shop_organization, stamps=9)
    nothing_yet = refused(sdk.complete_game, place.game, someone.stamp_card)
    assert (nothing_yet.http_status, nothing_yet.code) == (409, "GAME_NOT_COMPLETED")
    sdk.add_stamps(place.game, someone.stamp_card, place.shop, 1)
    (coupon,) = coupons_of(shop_organization, someone.customer)
    before = state(shop_organization)

    answers = [sdk.complete_game(place.game, card) for card in (someone.stamp_card, someone.point_card)]

    assert (
        answers
        == [
            {
                "game_id": place.game,
                "card_id": someone.stamp_card,
                "user_id": someone.customer.pk,
                "type": GAME_TYPE,
                "is_completed": True,
                "current_step": 0,
                "total_steps": 10,
                "coupons_issued": 0,
                "reward": {"name": "Free Coffee", "coupons": [coupon_json(coupon)]},
            }
        ]
        * 2
    )
    assert state(shop_organization) == before  # never a second coupon
    with in_shop(shop_organization):
        coupon_redeem(coupon_id=coupon.pk, external_id="till-2")
    used = refused(sdk.complete_game, place.game, someone.stamp_card)
    assert (used.http_status, used.code) == (409, "GAME_NOT_COMPLETED")


def test_complete_turns_stamps_of_a_full_card_into_its_coupon_once(sdk, shop_key, shop_organization, place):
    """Stamps that fill a card without having become a coupon (the card held 12 when the
    program asked 10 per card) give the reward on complete, through the earn's own issue."""
    someone = member(shop_organization, stamps=12)
    listener = CustomerListener(shop_organization, someone.customer)
    try:
        completed = sdk.complete_game(place.game, someone.point_card)
        updates = balance_updates(listener, 1)
    finally:
        listener.close()
    again = sdk.complete_game(place.game, someone.point_card)

    (coupon,) = coupons_of(shop_organization, someone.customer)
    assert completed == {
        "game_id": place.game,
        "card_id": someone.stamp_card,
        "user_id": someone.customer.pk,
        "type": GAME_TYPE,
        "is_completed": True,
        "current_step": 2,
        "total_steps": 10,
        "coupons_issued": 1,
        "reward": {"name": "Free Coffee", "coupons": [coupon_json(coupon)]},
    }
    assert again == {**completed, "coupons_issued": 0}
    assert stamp_entries(shop_organization, someone) == [("reward", -10, 2, lookup_id(shop_key))]
    assert updates == [{"stamps": 2, "points": 0}]


def test_complete_calls_at_once_issue_each_coupon_once(server, shop_key, shop_organization, place):
    someone = member(shop_organization, stamps=25)

    answers = run_at_once(
        4, lambda index: make_sdk(server, shop_key).complete_game(place.game, someone.stamp_card)
    )

    assert sorted(answer["coupons_issued"] for answer in answers) == [0, 0, 0, 2]
    assert [len(answer["reward"]["coupons"]) for answer in answers] == [2, 2, 2, 2]
    assert len(coupons_of(shop_organization, someone.customer)) == 2
    assert [entry[:3] for entry in stamp_entries(shop_organization, someone)] == [
        ("reward", -10, 15),
        ("reward", -10, 5),
    ]


def test_restart_takes_the_stamps_off_through_an_audited_adjustment(sdk, shop_key, shop_organization, place):
    someone = member(shop_organization, stamps=9)
    sdk.add_stamps(place.game, someone.stamp_card, place.shop, 3)
    (coupon,) = coupons_of(shop_organization, someone.customer)
    listener = CustomerListener(shop_organization, someone.customer)
    try:
        restarted = sdk.restart_game(place.game, someone.point_card, place.shop)
        updates = balance_updates(listener, 1)
    finally:
        listener.close()

    assert restarted == {
        "game_id": place.game,
        "card_id": someone.stamp_card,
        "user_id": someone.customer.pk,
        "type": GAME_TYPE,
        "current_step": 0,
        "total_steps": 10,
        "stamps_removed": 2,
    }
    key = lookup_id(shop_key)
    assert stamp_entries(shop_organization, someone)[-1] == ("adjust", -2, 0, key)
    with in_shop(shop_organization):
        entry = LedgerEntry.objects.filter(card_id=someone.stamp_card).latest("pk")
        audit = AuditLogEntry.objects.get(action="programs.stamps_reset", target_id=str(someone.stamp_card))
        assert entry.note == "Stamp card restarted through the Shop API"
        assert (audit.actor_id, audit.target_type) == (None, "programs.Card")
        assert audit.details == {
            "delta": -2,
            "reason": "Stamp card restarted through the Shop API",
            "entry": entry.pk,
            "balance": 0,
            "api_key": key,
            "shop_id": place.shop,
        }
        # The coupon of the card filled before stays.
        assert Coupon.objects.get(pk=coupon.pk).status == "active"
    assert updates == [{"stamps": 0, "points": 0}]
    before = state(shop_organization)
    error = refused(sdk.restart_game, place.game, someone.stamp_card, place.shop)
    assert (error.http_status, error.code) == (409, "GAME_PROGRESS_EMPTY")
    assert state(shop_organization) == before


def test_blocked_customers_cannot_complete_or_restart(sdk, shop_organization, place):
    blocked = member(shop_organization, stamps=14)
    card_blocked = member(shop_organization, stamps=14)
    with in_shop(shop_organization):
        customer_block(customer=blocked.customer, actor=None, reason="test")
        card_block(card=Card.objects.get(pk=card_blocked.stamp_card), actor=None, reason="test")
    before = state(shop_organization)

    codes = [
        refused(sdk.complete_game, place.game, blocked.stamp_card).code,
        refused(sdk.restart_game, place.game, blocked.stamp_card, place.shop).code,
        refused(sdk.complete_game, place.game, card_blocked.point_card).code,
        refused(sdk.restart_game, place.game, card_blocked.point_card, place.shop).code,
    ]

    assert codes == ["CUSTOMER_BLOCKED", "CUSTOMER_BLOCKED", "CARD_BLOCKED", "CARD_BLOCKED"]
    assert state(shop_organization) == before
    # Reads still show them, as the POS API's look-up does.
    assert sdk.get_game_progress(place.game, blocked.stamp_card)["current_step"] == 14


# --- Concurrency ----------------------------------------------------------------------------


def test_eight_tills_adding_a_stamp_at_once(server, shop_key, shop_organization, place):
    someone = member(shop_organization, stamps=5)

    answers = run_at_once(
        8, lambda index: make_sdk(server, shop_key).add_stamps(place.game, someone.stamp_card, place.shop, 1)
    )

    assert sorted(answer["current_step"] for answer in answers) == [0, 1, 2, 3, 6, 7, 8, 9]
    assert sorted(answer["cards_completed"] for answer in answers) == [0] * 7 + [1]
    assert card_row(shop_organization, someone.stamp_card).balance == 3
    assert len(coupons_of(shop_organization, someone.customer)) == 1
    entries = stamp_entries(shop_organization, someone)
    assert sorted(cause for cause, *_ in entries) == ["earn"] * 8 + ["reward"]
    assert [balance for cause, _, balance, _ in entries if cause == "earn"] == [6, 7, 8, 9, 10, 1, 2, 3]
    with in_shop(shop_organization):
        external_ids = set(
            LedgerEntry.objects.filter(card_id=someone.stamp_card, cause="earn").values_list(
                "external_id", flat=True
            )
        )
    assert external_ids == {answer["transaction_id"] for answer in answers}


# --- PIN presets ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preset_organizations(django_db_blocker) -> dict:
    """An organization of each preset that asks PINs, with its place and key."""
    found = {}
    with django_db_blocker.unblock():
        for preset in ("strict", "balanced"):
            organization, _ = committed_organization(
                f"shop-games-{preset}", f"Games {preset}", verification_preset=preset
            )
            found[preset] = (organization, place_in(organization), issue_key(organization))
        connections.close_all()
    return found


def pin_of(organization: Organization, customer: Customer, action: str) -> dict:
    with in_shop(organization):
        return next(shown for shown in open_pins_for_customer(customer=customer) if shown["action"] == action)


def open_challenges(organization: Organization, customer: Customer) -> list[str]:
    with in_shop(organization):
        return sorted(
            PinChallenge.objects.filter(customer=customer, status="open").values_list("action", flat=True)
        )


def test_strict_asks_the_pin_for_adding_stamps_and_restarting(server, preset_organizations):
    organization, where, key = preset_organizations["strict"]
    sdk, raw = make_sdk(server, key), Raw(server, key)
    someone = member(organization, stamps=4)
    blocked = member(organization, stamps=4)
    with in_shop(organization):
        customer_block(customer=blocked.customer, actor=None, reason="test")

    asked = refused(sdk.add_stamps, where.game, someone.stamp_card, where.shop, 1)
    assert (asked.http_status, asked.code) == (412, "PIN_REQUIRED")
    assert card_row(organization, someone.stamp_card).balance == 4
    # Refusals that need no PIN come first: nobody is asked for one.
    assert refused(sdk.add_stamps, where.game, blocked.stamp_card, where.shop, 1).code == "CUSTOMER_BLOCKED"
    assert refused(sdk.restart_game, where.game, blocked.stamp_card, where.shop).code == "CUSTOMER_BLOCKED"
    assert open_challenges(organization, blocked.customer) == []

    pin = pin_of(organization, someone.customer, "earn")
    assert pin["summary"] == "Collect 1 stamp"
    body = {"card_id": someone.stamp_card, "shop_id": where.shop, "stamps_count": 1}
    wrong = raw("POST", f"/games/{where.game}/add-stamps", body={**body, "verification_pin": "x"})
    added = raw("POST", f"/games/{where.game}/add-stamps", body={**body, "verification_pin": pin["pin"]})
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["remaining_attempts"]) == (
        422,
        "PIN_INVALID",
        2,
    )
    assert (added.status_code, added.json()["data"]["current_step"]) == (200, 5)

    asked = refused(sdk.restart_game, where.game, someone.stamp_card, where.shop)
    assert (asked.http_status, asked.code) == (412, "PIN_REQUIRED")
    assert card_row(organization, someone.stamp_card).balance == 5
    pin = pin_of(organization, someone.customer, "adjust")
    restarted = raw(
        "POST",
        f"/games/{where.game}/restart",
        body={"card_id": someone.stamp_card, "shop_id": where.shop, "verification_pin": pin["pin"]},
    )
    assert (restarted.status_code, restarted.json()["data"]["stamps_removed"]) == (200, 5)
    assert open_challenges(organization, someone.customer) == []

    # Complete adds and takes nothing: no PIN.
    full = member(organization, stamps=10)
    assert sdk.complete_game(where.game, full.stamp_card)["coupons_issued"] == 1


def test_balanced_asks_the_pin_for_restarting_only(server, preset_organizations):
    organization, where, key = preset_organizations["balanced"]
    sdk = make_sdk(server, key)
    someone = member(organization, stamps=4)

    assert sdk.add_stamps(where.game, someone.stamp_card, where.shop, 2)["current_step"] == 6
    asked = refused(sdk.restart_game, where.game, someone.stamp_card, where.shop)
    assert (asked.http_status, asked.code) == (412, "PIN_REQUIRED")
    assert card_row(organization, someone.stamp_card).balance == 6
    assert open_challenges(organization, someone.customer) == ["adjust"]


# --- Other organizations --------------------------------------------------------------------


@pytest.fixture(scope="module")
def twin(django_db_blocker) -> tuple[Organization, Place, str]:
    """Another organization of this module's own, made as the module's is."""
    with django_db_blocker.unblock():
        organization, _ = committed_organization("shop-games-twin", "Games twin")
        found = (organization, place_in(organization), issue_key(organization))
        connections.close_all()
    return found


def member_with_card_id(organization: Organization, stamp_card_id: int, *, stamps: int) -> Member:
    """A customer whose stamp card has this id (ids repeat across schemas)."""
    someone = member(organization, stamps=stamps)
    # The entries' foreign key is checked at commit: both rows move in one transaction.
    with in_shop(organization), transaction.atomic():
        Card.objects.filter(pk=someone.stamp_card).update(id=stamp_card_id)
        LedgerEntry.objects.filter(card_id=someone.stamp_card).update(card_id=stamp_card_id)
    return Member(customer=someone.customer, stamp_card=stamp_card_id, point_card=someone.point_card)


def test_the_keys_organization_picks_the_game_and_the_card(server, sdk, shop_organization, place, twin):
    organization, where, key = twin
    twin_sdk = make_sdk(server, key)
    card_id = random.randint(10**12, 10**13)
    mine = member_with_card_id(shop_organization, card_id, stamps=7)
    theirs = member_with_card_id(organization, card_id, stamps=2)
    assert where.game == place.game  # the same game id in both schemas

    assert sdk.get_game_progress(place.game, card_id)["current_step"] == 7
    assert twin_sdk.get_game_progress(place.game, card_id)["current_step"] == 2
    before = state(shop_organization)
    added = twin_sdk.add_stamps(place.game, card_id, where.shop, 1)

    assert (added["user_id"], added["current_step"]) == (theirs.customer.pk, 3)
    assert state(shop_organization) == before
    assert card_row(shop_organization, mine.stamp_card).balance == 7
    assert twin_sdk.get_card_games(card_id)[0]["progress"]["user_id"] == theirs.customer.pk
    assert sdk.get_card_games(card_id)[0]["progress"]["user_id"] == mine.customer.pk


def test_another_organizations_key_finds_none_of_these(sdk_other, shop_organization, place):
    other = Organization.objects.get(slug="test-b")
    card_id = random.randint(10**12, 10**13)
    someone = member_with_card_id(shop_organization, card_id, stamps=12)
    with in_shop(other):
        assert not Program.objects.filter(kind="stamp", is_active=True).exists()
        assert not Card.objects.filter(pk=card_id).exists()
    before = state(shop_organization)

    game_calls = [
        (sdk_other.get_game, (place.game, card_id)),
        (sdk_other.get_game_progress, (place.game, card_id)),
        (sdk_other.add_stamps, (place.game, card_id, place.shop, 1)),
        (sdk_other.complete_game, (place.game, card_id)),
        (sdk_other.restart_game, (place.game, card_id, place.shop)),
    ]
    card_calls = [(sdk_other.get_card_games, (card_id,)), (sdk_other.get_game_history, (card_id,))]
    answers = [refused(call, *arguments) for call, arguments in game_calls + card_calls]

    assert [(error.http_status, error.code) for error in answers] == [(404, "GAME_NOT_FOUND")] * 5 + [
        (404, "CARD_NOT_FOUND")
    ] * 2
    assert state(shop_organization) == before
    assert card_row(shop_organization, someone.stamp_card).balance == 12
