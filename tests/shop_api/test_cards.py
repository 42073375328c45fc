"""Loyalty cards through the SDK: the list, one card, the card's info and its balance."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from loyalty_sdk.exceptions import LoyaltySDKError

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, PointLot, Program
from tenants.models import Organization
from tests.pos_fixtures import create_customer
from tests.shop_api.conftest import in_shop, make_sdk, refused, shop_credentials, unique_email


@pytest.fixture
def organization_b() -> Organization:
    """The organization of sdk_other's key."""
    return Organization.objects.get(slug="test-b")


def point_card(organization, customer) -> Card:
    with in_shop(organization):
        return Card.objects.select_related("customer").get(customer=customer, program__kind="point")


def stamp_card(organization, customer) -> Card:
    with in_shop(organization):
        return Card.objects.get(customer=customer, program__kind="stamp")


def expected_card(organization, card: Card, **changes) -> dict:
    return {
        "id": card.pk,
        "user_id": card.customer_id,
        "card_type": "digital",
        "card_number": card.card_number,
        "brand_name": organization.name,
        "background_color": organization.brand_color,
        "text_color": None,
        "logo_url": None,
        "qr_code": None,
        "barcode": card.card_number,
        "is_active": True,
        "is_third_party": False,
        "status": "active",
        "points_balance": card.balance,
        "custom_fields": None,
        "expires_at": None,
        "created_at": card.created_at.isoformat(),
        "updated_at": card.updated_at.isoformat(),
        **changes,
    }


def block(organization, customer) -> None:
    with in_shop(organization):
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.BLOCKED)


def test_a_card_is_its_point_card_with_the_sdks_fields(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=250, stamps=3)
    card = point_card(shop_organization, customer)
    assert sdk.get_loyalty_card(card.pk) == expected_card(shop_organization, card, points_balance=250)


def test_cards_are_listed_and_filtered_by_user_and_number(sdk, shop_organization):
    first = create_customer(shop_organization, email=unique_email(), points=10)
    second = create_customer(shop_organization, email=unique_email(), points=20)
    first_card, second_card = point_card(shop_organization, first), point_card(shop_organization, second)

    by_user = sdk.get_loyalty_cards(user_id=first.pk)
    assert by_user["data"] == [expected_card(shop_organization, first_card)]
    assert by_user["meta"] == {"current_page": 1, "per_page": 15, "total": 1, "last_page": 1}
    by_number = sdk.get_loyalty_cards(card_number=second_card.card_number)
    assert [card["id"] for card in by_number["data"]] == [second_card.pk]
    assert sdk.get_loyalty_cards(card_number="000000000000")["data"] == []

    # The module's organization is its own: every card listed is a point card, oldest first.
    with in_shop(shop_organization):
        point_cards = list(
            Card.objects.filter(program__kind="point").order_by("pk").values_list("pk", flat=True)
        )
    everything = sdk.get_loyalty_cards(per_page=100)
    assert [card["id"] for card in everything["data"]] == point_cards[:100]
    page = sdk.get_loyalty_cards(per_page=1, page=2)
    assert [card["id"] for card in page["data"]] == point_cards[1:2]
    assert page["meta"]["total"] == page["meta"]["last_page"] == len(point_cards)


def test_a_stamp_card_or_an_unknown_id_is_not_a_loyalty_card(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), stamps=2)
    for card_id in (stamp_card(shop_organization, customer).pk, 2**40, "abc", "0", "9" * 30):
        error = refused(sdk.get_loyalty_card, card_id)
        assert (error.http_status, error.code) == (404, "LOYALTY_CARD_NOT_FOUND")


def test_a_blocked_customers_card_is_listed_as_inactive(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=5)
    block(shop_organization, customer)
    card = point_card(shop_organization, customer)
    assert sdk.get_loyalty_card(card.pk) == expected_card(
        shop_organization, card, is_active=False, status="blocked"
    )


def test_a_deleted_customers_card_is_gone(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=5)
    card = point_card(shop_organization, customer)
    with in_shop(shop_organization):
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.DELETED)
    assert refused(sdk.get_loyalty_card, card.pk).code == "LOYALTY_CARD_NOT_FOUND"
    assert sdk.get_loyalty_cards(user_id=customer.pk)["data"] == []
    assert refused(sdk.get_loyalty_card_info, user_id=customer.pk).code == "CUSTOMER_NOT_FOUND"


def expected_info(organization, customer, card: Card, **changes) -> dict:
    with in_shop(organization):
        stamps = Card.objects.filter(customer=customer, program__kind="stamp").values_list(
            "balance", flat=True
        )
        stamp_count = stamps.first() or 0
    return {
        **expected_card(organization, card),
        "points": card.balance,
        "customer_code": customer.customer_code,
        "stamp_count": stamp_count,
        "user": {"id": customer.pk, "name": customer.name, "phone": customer.phone, "email": customer.email},
        "partner": {"id": organization.pk, "name": organization.name},
        "redemption": {
            "enabled": True,
            "points_per_currency": 100,
            "currency_amount": "1.00",
            "min_points": 100,
        },
        "points_expiring": {"points": 0, "expires_at": None},
        **changes,
    }


def test_card_info_by_card_id_number_or_user(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=340, stamps=4)
    card = point_card(shop_organization, customer)
    expected = expected_info(shop_organization, customer, card)
    assert expected["stamp_count"] == 4
    assert sdk.get_loyalty_card_info(card_id=card.pk) == expected
    assert sdk.get_loyalty_card_info(card_number=card.card_number) == expected
    assert sdk.get_loyalty_card_info(user_id=customer.pk) == expected
    # The stamp card names its customer too (as the QR scan's card_data does).
    assert sdk.get_loyalty_card_info(card_id=stamp_card(shop_organization, customer).pk) == expected
    assert sdk.get_loyalty_card_info(card_id=card.pk, user_id=customer.pk) == expected


def test_card_info_of_a_customer_without_a_card_yet(sdk, shop_organization):
    from loyalty_platform.customers.services import customer_enroll

    with in_shop(shop_organization):
        customer, _ = customer_enroll(
            email=unique_email(), consent_terms=True, consent_privacy=True, name="Ona"
        )
    info = sdk.get_loyalty_card_info(user_id=customer.pk)
    assert (info["id"], info["card_number"], info["points_balance"], info["points"]) == (None, None, 0, 0)
    assert (info["user_id"], info["user"]["name"], info["is_active"]) == (customer.pk, "Ona", True)
    assert sdk.get_loyalty_cards(user_id=customer.pk)["data"] == []


def test_card_info_refusals(sdk, shop_organization):
    first = create_customer(shop_organization, email=unique_email(), points=1)
    second = create_customer(shop_organization, email=unique_email(), points=1)
    cases = [
        ({}, 422, "CARD_IDENTIFIER_REQUIRED"),
        ({"user_id": 2**40}, 404, "CUSTOMER_NOT_FOUND"),
        ({"card_id": 2**40}, 404, "LOYALTY_CARD_NOT_FOUND"),
        ({"card_number": "nope"}, 404, "LOYALTY_CARD_NOT_FOUND"),
        (
            {"card_id": point_card(shop_organization, first).pk, "user_id": second.pk},
            422,
            "CUSTOMER_MISMATCH",
        ),
        ({"card_id": "12a"}, 422, "CARD_ID_INVALID"),
        ({"user_id": "-3"}, 422, "USER_ID_INVALID"),
        ({"user_id": str(2**70)}, 422, "USER_ID_INVALID"),
        ({"card_number": ""}, 422, "CARD_NUMBER_INVALID"),
        ({"card_number": "1" * 40}, 422, "CARD_NUMBER_INVALID"),
        ({"email": first.email}, 422, "UNKNOWN_FIELD"),
    ]
    for params, status, code in cases:
        error = refused(sdk.get_loyalty_card_info, **params)
        assert (error.http_status, error.code) == (status, code), params


def test_balance_with_points_expiring_soon(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=120)
    card = point_card(shop_organization, customer)
    soon = timezone.now() + timedelta(days=10)
    with in_shop(shop_organization):
        PointLot.objects.filter(card=card).update(expires_at=soon)
        program = Program.objects.get(pk=card.program_id)
        # A program whose points expire: the readers look at the lots' dates (saved, so the
        # server's cached copy is forgotten).
        program.points_expiry = Program.PointsExpiry.LIFETIME
        program.save()
    try:
        balance = sdk.get_points_balance(card_id=card.pk)
        # What a purchase earns now expires by the rule too, and says when.
        earned = sdk.create_transaction(order_id=f"exp-{card.pk}", user_id=customer.pk, order_total=5)
        with in_shop(shop_organization):
            lot = PointLot.objects.get(entry_id=earned["id"])
        assert lot.expires_at is not None
        assert earned["expires_at"] == lot.expires_at.isoformat()
        listed = sdk.get_transactions(card_id=card.pk, type="earned")["data"]
        assert [(row["id"], row["expires_at"]) for row in listed] == [
            (earned["id"], lot.expires_at.isoformat())
        ]
    finally:
        with in_shop(shop_organization):
            program.points_expiry = Program.PointsExpiry.NEVER
            program.save()
    assert balance == {
        "card_id": card.pk,
        "card_number": card.card_number,
        "user_id": customer.pk,
        "points_balance": 120,
        "points": 120,
        "balance": 120,
        "currency": shop_organization.currency,
        "points_value": "1.20",
        "redemption": {
            "enabled": True,
            "points_per_currency": 100,
            "currency_amount": "1.00",
            "min_points": 100,
        },
        "points_expiring": {"points": 120, "expires_at": soon.isoformat(), "within_days": 30},
    }


def test_balance_by_card_number_and_its_refusals(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=7)
    card = point_card(shop_organization, customer)
    balance = sdk.get_points_balance(card_number=card.card_number)
    assert (balance["card_id"], balance["points"], balance["points_value"]) == (card.pk, 7, "0.07")
    assert balance["points_expiring"] == {"points": 0, "expires_at": None, "within_days": 30}
    for params, status, code in (
        ({}, 422, "CARD_IDENTIFIER_REQUIRED"),
        ({"user_id": customer.pk}, 422, "UNKNOWN_FIELD"),
        ({"card_id": 2**40}, 404, "LOYALTY_CARD_NOT_FOUND"),
        ({"card_id": "1.5"}, 422, "CARD_ID_INVALID"),
    ):
        error = refused(sdk.get_points_balance, **params)
        assert (error.http_status, error.code) == (status, code), params


def test_reads_change_nothing_and_refuse_nul_bytes(server, shop_key, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=3)
    card = point_card(shop_organization, customer)
    api_key, secret = shop_credentials(shop_key)
    base = f"http://localhost:{server.port}/en/shop"
    headers = {"X-API-Key": api_key, "X-API-Secret": secret}
    answer = requests.get(
        f"{base}/loyalty-cards", params={"card_number": "12\x0034"}, headers=headers, timeout=10
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_CHARACTERS")
    with in_shop(shop_organization):
        entries = LedgerEntry.objects.filter(card=card).count()
    for path, params in (
        ("loyalty-cards", {"user_id": customer.pk}),
        (f"loyalty-cards/{card.pk}", {}),
        ("loyalty-cards/info", {"card_id": card.pk}),
        ("loyalty-cards/balance", {"card_id": card.pk}),
    ):
        assert requests.get(f"{base}/{path}", params=params, headers=headers, timeout=10).status_code == 200
    with in_shop(shop_organization):
        assert LedgerEntry.objects.filter(card=card).count() == entries
        assert Card.objects.get(pk=card.pk).balance == 3


def test_refusals_are_worded_in_the_paths_language(server, shop_key):
    lithuanian = make_sdk(server, shop_key, locale="lt")
    error = refused(lithuanian.get_loyalty_card, 2**40)
    assert (error.code, error.message) == ("LOYALTY_CARD_NOT_FOUND", "Lojalumo kortelė nerasta.")


def answer_or_refusal(call, **params) -> dict | LoyaltySDKError:
    try:
        return call(**params)
    except LoyaltySDKError as error:
        return error


def test_another_organization_sees_none_of_these_cards(sdk_other, shop_organization, organization_b):
    customer = create_customer(shop_organization, email=unique_email(), points=90)
    card = point_card(shop_organization, customer)
    # Ids repeat across schemas: whatever the other organization answers is its own card.
    with in_shop(organization_b):
        own_numbers = set(Card.objects.values_list("card_number", flat=True)) | {None}
    for call, params in (
        (sdk_other.get_loyalty_card, {"card_id": card.pk}),
        (sdk_other.get_loyalty_card_info, {"card_id": card.pk}),
        (sdk_other.get_loyalty_card_info, {"user_id": customer.pk}),
        (sdk_other.get_points_balance, {"card_id": card.pk}),
    ):
        answer = answer_or_refusal(call, **params)
        if isinstance(answer, LoyaltySDKError):
            assert answer.http_status == 404, answer
        else:
            assert answer["card_number"] in own_numbers
    for params in ({"card_number": card.card_number}, {"user_id": customer.pk}):
        listed = sdk_other.get_loyalty_cards(**params)["data"]
        assert card.card_number not in {row["card_number"] for row in listed}
    error = refused(sdk_other.get_loyalty_card_info, card_number=card.card_number)
    assert (error.http_status, error.code) == (404, "LOYALTY_CARD_NOT_FOUND")


def test_without_an_active_point_program_there_are_no_loyalty_cards(sdk, shop_organization):
    customer = create_customer(shop_organization, email=unique_email(), points=15)
    card = point_card(shop_organization, customer)
    with in_shop(shop_organization):
        program = Program.objects.get(pk=card.program_id)
        program.is_active = False
        program.save()
    try:
        assert sdk.get_loyalty_cards(user_id=customer.pk)["data"] == []
        assert sdk.get_transactions(user_id=customer.pk)["data"] == []
        assert refused(sdk.get_loyalty_card, card.pk).code == "LOYALTY_CARD_NOT_FOUND"
        error = refused(sdk.get_points_balance, card_id=stamp_card(shop_organization, customer).pk)
        assert (error.http_status, error.code) == (404, "PROGRAM_NOT_FOUND")
        info = sdk.get_loyalty_card_info(user_id=customer.pk)
        assert (info["id"], info["points"]) == (stamp_card(shop_organization, customer).pk, 0)
        assert info["redemption"] == {
            "enabled": False,
            "points_per_currency": None,
            "currency_amount": "1.00",
            "min_points": None,
        }
        error = refused(sdk.create_transaction, order_id=f"np-{card.pk}", user_id=customer.pk, order_total=5)
        assert (error.http_status, error.code) == (404, "PROGRAM_NOT_FOUND")
    finally:
        with in_shop(shop_organization):
            program.is_active = True
            program.save()
    with in_shop(shop_organization):
        assert Card.objects.get(pk=card.pk).balance == 15
