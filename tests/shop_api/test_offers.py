"""Offers (promotions) and product categories through the published SDK, unmodified."""

import json
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from django.utils import timezone

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.orders.models import EarningRule, Order, OrderLine
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.services import voucher_check, voucher_redeem, vouchers_generate
from tenants.models import Organization, Subscription
from tests.shop_api.conftest import in_shop, refused, shop_credentials

PROMOTION_COLUMNS = (
    "pk",
    "title",
    "description",
    "discount_type",
    "discount_value",
    "product_code",
    "category",
    "valid_from",
    "valid_until",
    "minimum_spend",
    "uses_per_voucher",
    "uses_per_customer",
    "is_active",
    "attributes",
    "updated_at",
)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def promotions(organization) -> dict:
    """Every promotion of the organization, its vouchers and audit records: what a refused
    call must leave as it was."""
    with in_shop(organization):
        return {
            "promotions": list(Promotion.objects.order_by("pk").values_list(*PROMOTION_COLUMNS)),
            "vouchers": list(Voucher.objects.order_by("pk").values_list("pk", "status", "uses")),
            "audit": AuditLogEntry.objects.filter(target_type="vouchers.Promotion").count(),
        }


def row(organization, offer_id: int) -> Promotion:
    with in_shop(organization):
        return Promotion.objects.get(pk=offer_id)


def audits(organization, offer_id: int) -> list[tuple]:
    with in_shop(organization):
        return list(
            AuditLogEntry.objects.filter(target_type="vouchers.Promotion", target_id=str(offer_id))
            .order_by("pk")
            .values_list("actor_id", "action", "details")
        )


def raw(server, key: str, method: str, path: str, body: bytes | None = None) -> requests.Response:
    """A call the SDK cannot make (null values, malformed JSON, an id of the wrong form)."""
    api_key, secret = shop_credentials(key)
    headers = {"X-API-Key": api_key, "X-API-Secret": secret, "Content-Type": "application/json"}
    url = f"http://localhost:{server.port}/en/shop{path}"
    return requests.request(method, url, data=body, headers=headers, timeout=15)


def lookup_id(key: str) -> str:
    return shop_credentials(key)[0].removeprefix("lty_")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def expected_offer(organization, offer_id: int, **values) -> dict:
    """The whole offer as the API shows it: the defaults of a new one, `values` changed."""
    promotion = row(organization, offer_id)
    return {
        "id": offer_id,
        "title": promotion.title,
        "description": "",
        "image": None,
        "type": "discount",
        "discount_type": None,
        "discount_percentage": None,
        "discount_amount": None,
        "product_code": "",
        "points_multiplier": None,
        "points_cost": None,
        "minimum_purchase": None,
        "maximum_discount": None,
        "is_active": True,
        "is_featured": False,
        "categories": [],
        "partner_name": organization.name,
        "partner_logo": None,
        "usage_limit": 0,
        "usage_count": 0,
        "user_limit": None,
        "terms_conditions": None,
        "starts_at": None,
        "ends_at": None,
        "created_at": promotion.created_at.isoformat(),
        "updated_at": promotion.updated_at.isoformat(),
        **values,
    }


def test_a_percentage_offer_is_created_with_every_field_and_read_back(sdk, shop_organization, shop_key):
    category = f"Coffee {tag()}"

    created = sdk.create_offer(
        title="  Spring 12.5% off  ",
        description="On the whole basket.\nNot with other offers.",
        type="discount",
        discount_type="percentage",
        discount_percentage=12.5,
        minimum_purchase="15",
        user_limit=2,
        starts_at="2026-06-01T08:00:00+03:00",
        ends_at="2026-06-30T21:00:00Z",
        categories=[category],
    )

    promotion = row(shop_organization, created["id"])
    assert created == expected_offer(
        shop_organization,
        created["id"],
        title="Spring 12.5% off",
        description="On the whole basket.\nNot with other offers.",
        discount_type="percentage",
        discount_percentage="12.5",
        minimum_purchase="15.00",
        user_limit=2,
        starts_at="2026-06-01T05:00:00+00:00",
        ends_at="2026-06-30T21:00:00+00:00",
        categories=[category],
    )
    assert (promotion.discount_type, promotion.discount_value, promotion.category) == (
        "percentage_discount",
        Decimal("12.50"),
        category,
    )
    assert (promotion.minimum_spend, promotion.uses_per_customer, promotion.uses_per_voucher) == (
        Decimal("15.00"),
        2,
        1,
    )
    assert sdk.get_offer(created["id"]) == created
    ((actor, action, details),) = audits(shop_organization, created["id"])
    assert (actor, action, details["api_key"]) == (None, "promotions.create", lookup_id(shop_key))
    assert details["fields"]["discount_value"] == "12.50"


def test_a_fixed_amount_and_a_free_item(sdk, shop_organization):
    amount = sdk.create_offer(title="2.50 off", discount_type="fixed_amount", discount_amount=2.5)
    free = sdk.create_offer(title="Free cookie", type="free_item", product_code="COOKIE-1")

    assert amount == expected_offer(
        shop_organization, amount["id"], discount_type="fixed_amount", discount_amount="2.50"
    )
    assert free == expected_offer(shop_organization, free["id"], type="free_item", product_code="COOKIE-1")
    assert row(shop_organization, free["id"]).discount_type == "free_item"


def test_a_time_without_offset_is_the_organizations_local_time(sdk, shop_organization):
    created = sdk.create_offer(title="Local", starts_at="2026-03-01 09:30:00", ends_at="2026-03-02")

    zone = ZoneInfo(Organization.objects.get(pk=shop_organization.pk).timezone)
    promotion = row(shop_organization, created["id"])
    assert promotion.valid_from == datetime(2026, 3, 1, 9, 30, tzinfo=zone)
    assert promotion.valid_until == datetime(2026, 3, 2, tzinfo=zone)


def test_posting_the_same_offer_twice_creates_two(sdk):
    """Offers carry no order_id: a retried create is a second offer (documented)."""
    title = f"Twice {tag()}"
    first = sdk.create_offer(title=title, discount_type="percentage", discount_percentage=5)
    second = sdk.create_offer(title=title, discount_type="percentage", discount_percentage=5)

    assert first["id"] != second["id"]
    assert [offer["id"] for offer in sdk.get_offers(category=None, per_page=100)["data"]][:2] == [
        second["id"],
        first["id"],
    ]


def test_the_list_filters_and_pages(sdk, shop_organization):
    category = f"Tea {tag()}"
    percent = sdk.create_offer(
        title="Tea 10%", discount_type="percentage", discount_percentage=10, categories=[category]
    )
    free = sdk.create_offer(title="Free tea", type="free_item", product_code="TEA", categories=[category])
    paused = sdk.create_offer(
        title="Tea paused",
        discount_type="fixed_amount",
        discount_amount=1,
        categories=[category],
        is_active=False,
    )

    listed = sdk.get_offers(category=category.upper())
    assert [offer["id"] for offer in listed["data"]] == [paused["id"], free["id"], percent["id"]]
    assert listed["data"][1] == free
    assert listed["meta"] == {"current_page": 1, "per_page": 15, "total": 3, "last_page": 1}
    assert [o["id"] for o in sdk.get_offers(category=category, is_active=True)["data"]] == [
        free["id"],
        percent["id"],
    ]
    assert [o["id"] for o in sdk.get_offers(category=category, is_active="false")["data"]] == [paused["id"]]
    assert [o["id"] for o in sdk.get_offers(category=category, type="free_item")["data"]] == [free["id"]]
    assert [o["id"] for o in sdk.get_offers(category=category, type="discount")["data"]] == [
        paused["id"],
        percent["id"],
    ]
    assert sdk.get_offers(category=category, type="cashback")["data"] == []
    page = sdk.get_offers(category=category, per_page=2, page=2)
    assert [o["id"] for o in page["data"]] == [percent["id"]]
    assert page["meta"] == {"current_page": 2, "per_page": 2, "total": 3, "last_page": 2}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": "lottery"}, "TYPE_INVALID"),
        ({"is_active": "yes"}, "IS_ACTIVE_INVALID"),
        ({"page": "0"}, "PAGE_INVALID"),
        ({"per_page": "101"}, "PER_PAGE_INVALID"),
        ({"page": "1e3"}, "PAGE_INVALID"),
        ({"category": "x" * 121}, "CATEGORY_INVALID"),
        ({"colour": "red"}, "UNKNOWN_FIELD"),
    ],
)
def test_a_list_with_a_wrong_parameter_is_refused(sdk, params, code):
    error = refused(sdk.get_offers, **params)
    assert (error.http_status, error.code) == (422, code)


def test_an_update_changes_what_it_names_and_nothing_else(sdk, shop_organization, shop_key, server):
    created = sdk.create_offer(
        title="Autumn", discount_type="percentage", discount_percentage=10, user_limit=3, categories=["Cake"]
    )

    renamed = sdk.update_offer(created["id"], title="Autumn sale", discount_percentage="20.5")
    assert renamed == expected_offer(
        shop_organization,
        created["id"],
        title="Autumn sale",
        discount_type="percentage",
        discount_percentage="20.5",
        user_limit=3,
        categories=["Cake"],
    )
    switched = sdk.update_offer(created["id"], discount_type="fixed_amount", discount_amount="3")
    assert (switched["discount_type"], switched["discount_amount"], switched["discount_percentage"]) == (
        "fixed_amount",
        "3.00",
        None,
    )
    # null clears what may be empty (the SDK leaves out None values, so a raw call).
    dated = sdk.update_offer(created["id"], starts_at="2026-01-01T00:00:00Z", ends_at="2027-01-01T00:00:00Z")
    assert dated["ends_at"] == "2027-01-01T00:00:00+00:00"
    cleared = raw(
        server,
        shop_key,
        "PUT",
        f"/offers/{created['id']}",
        json.dumps({"ends_at": None, "user_limit": None, "categories": [], "description": None}).encode(),
    )
    assert cleared.status_code == 200
    data = cleared.json()["data"]
    assert (data["starts_at"], data["ends_at"], data["user_limit"], data["categories"]) == (
        "2026-01-01T00:00:00+00:00",
        None,
        None,
        [],
    )
    assert sdk.update_offer(created["id"], type="free_item", product_code="CAKE")["type"] == "free_item"

    changes = [details["changes"] for _, action, details in audits(shop_organization, created["id"])[1:]]
    assert changes[0] == {"title": ["Autumn", "Autumn sale"], "discount_value": ["10.00", "20.50"]}
    assert changes[1] == {
        "discount_type": ["percentage_discount", "absolute_discount"],
        "discount_value": ["20.50", "3.00"],
    }
    assert len(changes) == 5


def test_an_update_that_changes_nothing_writes_nothing(sdk, shop_organization):
    created = sdk.create_offer(title="Same", discount_type="percentage", discount_percentage=10)
    before = promotions(shop_organization)

    assert sdk.update_offer(created["id"], title="Same", discount_percentage=10) == created
    assert sdk.update_offer(created["id"]) == created  # the SDK sends no body at all

    assert promotions(shop_organization) == before


BAD_OFFERS = [
    ({"description": "no title"}, "TITLE_REQUIRED"),
    ({"title": "   "}, "TITLE_REQUIRED"),
    ({"title": 42}, "TITLE_INVALID"),
    ({"title": "x" * 121}, "TITLE_INVALID"),
    ({"title": "bell\x07"}, "TITLE_INVALID"),
    ({"title": "nul\x00"}, "INVALID_CHARACTERS"),
    ({"title": "two\nlines"}, "TITLE_INVALID"),
    ({"title": "t", "description": "d\x00"}, "INVALID_CHARACTERS"),
    ({"title": "t", "description": "bell\x07"}, "DESCRIPTION_INVALID"),
    ({"title": "t", "description": "d" * 5001}, "DESCRIPTION_INVALID"),
    ({"title": "t", "type": "points_multiplier", "points_multiplier": 2}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "type": "points_multiplier"}, "OFFER_TYPE_NOT_SUPPORTED"),
    ({"title": "t", "type": "cashback"}, "OFFER_TYPE_NOT_SUPPORTED"),
    ({"title": "t", "type": "lottery"}, "TYPE_INVALID"),
    ({"title": "t", "type": 1}, "TYPE_INVALID"),
    ({"title": "t", "type": "discount"}, "DISCOUNT_TYPE_REQUIRED"),
    ({"title": "t", "discount_type": "half"}, "DISCOUNT_TYPE_INVALID"),
    ({"title": "t", "discount_type": "percentage"}, "DISCOUNT_PERCENTAGE_REQUIRED"),
    ({"title": "t", "discount_type": "fixed_amount"}, "DISCOUNT_AMOUNT_REQUIRED"),
    ({"title": "t", "discount_percentage": 0}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_percentage": 100.01}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_percentage": -5}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_percentage": 12.345}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_percentage": "ten"}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_percentage": True}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_percentage": [10]}, "DISCOUNT_PERCENTAGE_INVALID"),
    ({"title": "t", "discount_amount": -1}, "DISCOUNT_AMOUNT_INVALID"),
    ({"title": "t", "discount_amount": 0}, "DISCOUNT_AMOUNT_INVALID"),
    ({"title": "t", "discount_amount": 2.505}, "DISCOUNT_AMOUNT_INVALID"),
    ({"title": "t", "discount_amount": 10**12}, "DISCOUNT_AMOUNT_INVALID"),
    ({"title": "t", "discount_percentage": 5, "discount_amount": 1}, "DISCOUNT_TYPE_REQUIRED"),
    (
        {"title": "t", "discount_type": "percentage", "discount_percentage": 5, "discount_amount": 1},
        "DISCOUNT_AMOUNT_INVALID",
    ),
    ({"title": "t", "type": "free_item"}, "PRODUCT_CODE_REQUIRED"),
    (
        {"title": "t", "type": "free_item", "product_code": "X", "discount_percentage": 5},
        "DISCOUNT_PERCENTAGE_INVALID",
    ),
    ({"title": "t", "product_code": "tab\tbed"}, "PRODUCT_CODE_INVALID"),
    ({"title": "t", "minimum_purchase": -1}, "MINIMUM_PURCHASE_INVALID"),
    ({"title": "t", "minimum_purchase": 1.005}, "MINIMUM_PURCHASE_INVALID"),
    ({"title": "t", "minimum_purchase": "NaN"}, "MINIMUM_PURCHASE_INVALID"),
    ({"title": "t", "user_limit": 0}, "USER_LIMIT_INVALID"),
    ({"title": "t", "user_limit": "3"}, "USER_LIMIT_INVALID"),
    ({"title": "t", "user_limit": 2**31}, "USER_LIMIT_INVALID"),
    ({"title": "t", "user_limit": 1.5}, "USER_LIMIT_INVALID"),
    ({"title": "t", "starts_at": "tomorrow"}, "STARTS_AT_INVALID"),
    ({"title": "t", "starts_at": "2026-13-01T00:00:00Z"}, "STARTS_AT_INVALID"),
    ({"title": "t", "starts_at": 1767225600}, "STARTS_AT_INVALID"),
    ({"title": "t", "starts_at": "0001-01-01T00:00:00+14:00"}, "STARTS_AT_INVALID"),
    (
        {"title": "t", "ends_at": "2026-06-01T00:00:00Z", "starts_at": "2026-06-01T00:00:00Z"},
        "ENDS_AT_INVALID",
    ),
    (
        {"title": "t", "ends_at": "2026-05-01T00:00:00Z", "starts_at": "2026-06-01T00:00:00Z"},
        "ENDS_AT_INVALID",
    ),
    ({"title": "t", "categories": ["Coffee", "Tea"]}, "CATEGORIES_INVALID"),
    ({"title": "t", "categories": "Coffee"}, "CATEGORIES_INVALID"),
    ({"title": "t", "categories": [1]}, "CATEGORIES_INVALID"),
    ({"title": "t", "categories": ["x" * 121]}, "CATEGORIES_INVALID"),
    ({"title": "t", "categories": ["a\x00"]}, "INVALID_CHARACTERS"),
    ({"title": "t", "categories": ["a\x1b"]}, "CATEGORIES_INVALID"),
    (
        {
            "title": "t",
            "discount_type": "percentage",
            "discount_percentage": 5,
            "categories": ["A"],
            "is_active": "yes",
        },
        "IS_ACTIVE_INVALID",
    ),
    ({"title": "t", "categories": ["Coffee"]}, "DISCOUNT_TYPE_REQUIRED"),
    ({"title": "t", "image": "https://example.com/a.png"}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "is_featured": False}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "maximum_discount": 10}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "usage_limit": 100}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "points_cost": 100}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "terms_conditions": "Terms"}, "OFFER_FIELD_NOT_SUPPORTED"),
    ({"title": "t", "usage_count": 3}, "UNKNOWN_FIELD"),
    ({"title": "t", "colour": "red"}, "UNKNOWN_FIELD"),
]


# NUL bytes are refused for the whole request, before any field is read.
STATUS = {"INVALID_CHARACTERS": 400}
# What the table refuses on a new offer but is a fine change of one that has a percentage.
FINE_FOR_A_PERCENTAGE_OFFER = ({"discount_type": "percentage"},)


@pytest.mark.parametrize(("body", "code"), BAD_OFFERS)
def test_a_bad_offer_is_refused_and_nothing_is_saved(sdk, shop_organization, body, code):
    before = promotions(shop_organization)

    error = refused(sdk.create_offer, **body)

    assert (error.http_status, error.code) == (STATUS.get(code, 422), code)
    assert promotions(shop_organization) == before


BAD_CHANGES = [
    ({name: value for name, value in body.items() if name != "title"}, code)
    for body, code in BAD_OFFERS
    if body.get("title") == "t" and code != "DISCOUNT_TYPE_REQUIRED"
]


@pytest.mark.parametrize(
    ("change", "code"),
    [(change, code) for change, code in BAD_CHANGES if change not in FINE_FOR_A_PERCENTAGE_OFFER],
)
def test_a_bad_change_is_refused_and_nothing_changes(sdk, shop_organization, change, code):
    created = sdk.create_offer(title="Kept", discount_type="percentage", discount_percentage=10)
    before = promotions(shop_organization)

    error = refused(sdk.update_offer, created["id"], **change)

    assert (error.http_status, error.code) == (STATUS.get(code, 422), code)
    assert promotions(shop_organization) == before


def test_a_change_that_breaks_the_offer_as_a_whole_is_refused(sdk, shop_organization):
    created = sdk.create_offer(title="Dated", starts_at="2026-06-01T00:00:00Z")
    before = promotions(shop_organization)

    assert refused(sdk.update_offer, created["id"], ends_at="2026-05-01T00:00:00Z").code == "ENDS_AT_INVALID"
    assert refused(sdk.update_offer, created["id"], discount_type="percentage").code == (
        "DISCOUNT_PERCENTAGE_REQUIRED"
    )
    assert refused(sdk.update_offer, created["id"], categories=["Tea"]).code == "DISCOUNT_TYPE_REQUIRED"
    assert promotions(shop_organization) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "INVALID_JSON"),
        (b"[]", 422, "INVALID_BODY"),
        (b'{"title": "t", "discount_percentage": 1e400}', 422, "DISCOUNT_PERCENTAGE_INVALID"),
        (b'{"title": "t", "discount_amount": NaN}', 400, "INVALID_JSON"),
        (b'{"title": "t", "minimum_purchase": 99999999999999999999999}', 422, "MINIMUM_PURCHASE_INVALID"),
        (b'{"title": null}', 422, "TITLE_REQUIRED"),
        (b'{"title": "t", "is_active": null}', 422, "IS_ACTIVE_INVALID"),
        (b'{"title": "t", "discount_percentage": null}', 422, "DISCOUNT_PERCENTAGE_INVALID"),
    ],
)
def test_malformed_bodies_are_refused(server, shop_key, shop_organization, body, status, code):
    before = promotions(shop_organization)

    response = raw(server, shop_key, "POST", "/offers", body)

    assert (response.status_code, response.json()["success"], response.json()["code"]) == (
        status,
        False,
        code,
    )
    assert promotions(shop_organization) == before


@pytest.mark.parametrize(
    ("offer_id", "status", "code"),
    [
        *[
            (offer_id, 404, "OFFER_NOT_FOUND")
            for offer_id in ("0", "abc", "12a", "-1", "1.5", "99999999999999999999", "9" * 19)
        ],
        ("%00", 400, "INVALID_CHARACTERS"),
    ],
)
@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PUT", b'{"title": "x"}'), ("DELETE", None)])
def test_an_id_of_the_wrong_form_is_not_found(
    server, shop_key, shop_organization, offer_id, status, code, method, body
):
    before = promotions(shop_organization)

    response = raw(server, shop_key, method, f"/offers/{offer_id}", body)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert promotions(shop_organization) == before


def test_an_unknown_offer_is_not_found(sdk, shop_organization):
    before = promotions(shop_organization)
    for call, args in (
        (sdk.get_offer, ()),
        (sdk.update_offer, ()),
        (sdk.delete_offer, ()),
    ):
        error = refused(call, 2**40, *args)
        assert (error.http_status, error.code) == (404, "OFFER_NOT_FOUND")
    assert refused(sdk.update_offer, 2**40, title="x").code == "OFFER_NOT_FOUND"
    assert promotions(shop_organization) == before


def test_lithuanian_words_for_the_offers_refusals(server, shop_key):
    from tests.shop_api.conftest import make_sdk

    lithuanian = make_sdk(server, shop_key, locale="lt")
    assert refused(lithuanian.get_offer, 2**40).message == "Pasiūlymas nerastas."
    error = refused(lithuanian.create_offer, title="t", type="cashback")
    assert (error.code, error.message) == (
        "OFFER_TYPE_NOT_SUPPORTED",
        "Šio tipo pasiūlymai šioje platformoje nepalaikomi; niekas neišsaugota.",
    )


def test_another_organizations_key_sees_only_its_own_offers(sdk, sdk_other, shop_organization):
    """Ids repeat across schemas: test-b's key naming this organization's offer id reaches
    test-b's promotion of that id, never this one."""
    mine = sdk.create_offer(title=f"Mine {tag()}", discount_type="percentage", discount_percentage=10)
    other_organization = Organization.objects.get(slug="test-b")
    with in_shop(other_organization):
        assert not Promotion.objects.filter(pk=mine["id"]).exists()
    assert refused(sdk_other.get_offer, mine["id"]).code == "OFFER_NOT_FOUND"
    assert refused(sdk_other.update_offer, mine["id"], title="Taken").code == "OFFER_NOT_FOUND"
    assert refused(sdk_other.delete_offer, mine["id"]).code == "OFFER_NOT_FOUND"
    assert mine["title"] not in {offer["title"] for offer in sdk_other.get_offers(per_page=100)["data"]}

    with in_shop(other_organization):
        theirs = Promotion.objects.create(pk=mine["id"], title="Theirs")
    try:
        assert sdk_other.get_offer(mine["id"])["title"] == "Theirs"
        assert sdk_other.update_offer(mine["id"], title="Theirs renamed")["title"] == "Theirs renamed"
        sdk_other.delete_offer(mine["id"])
        with in_shop(other_organization):
            assert not Promotion.objects.filter(pk=theirs.pk).exists()
    finally:
        with in_shop(other_organization):
            Promotion.objects.filter(pk=theirs.pk).delete()

    assert sdk.get_offer(mine["id"]) == mine
    assert row(shop_organization, mine["id"]).title == mine["title"]


def test_deleting_an_offer_without_vouchers_removes_it(sdk, shop_organization, shop_key, server):
    created = sdk.create_offer(title="Short-lived")

    response = raw(server, shop_key, "DELETE", f"/offers/{created['id']}")

    assert response.json() == {
        "success": True,
        "data": {"id": created["id"], "deleted": True, "is_active": False},
    }
    assert refused(sdk.get_offer, created["id"]).code == "OFFER_NOT_FOUND"
    assert [action for _, action, _ in audits(shop_organization, created["id"])] == [
        "promotions.create",
        "promotions.delete",
    ]


def test_deleting_an_offer_with_vouchers_withdraws_it_and_keeps_its_history(
    sdk, shop_organization, shop_key, server
):
    created = sdk.create_offer(title="Used", discount_type="percentage", discount_percentage=10)
    with in_shop(shop_organization):
        promotion = Promotion.objects.get(pk=created["id"])
        used, unused, voided = vouchers_generate(promotion=promotion, count=3)
        Voucher.objects.filter(pk=voided.pk).update(status=Voucher.Status.VOID)
        voucher_redeem(code=used.code, external_id=f"till-{tag()}")
    assert (sdk.get_offer(created["id"])["usage_count"], sdk.get_offer(created["id"])["usage_limit"]) == (
        1,
        2,
    )

    first = raw(server, shop_key, "DELETE", f"/offers/{created['id']}")
    again = raw(server, shop_key, "DELETE", f"/offers/{created['id']}")

    withdrawn = {"success": True, "data": {"id": created["id"], "deleted": False, "is_active": False}}
    assert first.json() == withdrawn and again.json() == withdrawn
    shown = sdk.get_offer(created["id"])
    assert (shown["is_active"], shown["usage_count"], shown["usage_limit"]) == (False, 1, 2)
    assert created["id"] in [o["id"] for o in sdk.get_offers(is_active=False, per_page=100)["data"]]
    with in_shop(shop_organization):
        assert VoucherRedemption.objects.filter(voucher=used).count() == 1
        assert Voucher.objects.filter(promotion_id=created["id"]).count() == 3
        with pytest.raises(DomainError) as ended:
            voucher_check(code=unused.code)
        assert ended.value.code == "voucher_expired"
    assert [action for _, action, _ in audits(shop_organization, created["id"])] == [
        "promotions.create",
        "promotions.withdraw",
    ]

    assert sdk.update_offer(created["id"], is_active=True)["is_active"] is True
    with in_shop(shop_organization):
        assert voucher_check(code=unused.code).pk == unused.pk


def test_writes_need_an_active_subscription_reads_do_not(sdk, shop_organization):
    created = sdk.create_offer(title="Before the end")
    before = promotions(shop_organization)
    subscription = Subscription.objects.get(organization=shop_organization)
    ends_at = subscription.ends_at
    subscription.ends_at = timezone.now()
    subscription.save()
    try:
        for call, args, kwargs in (
            (sdk.create_offer, (), {"title": "After"}),
            (sdk.update_offer, (created["id"],), {"title": "After"}),
            (sdk.delete_offer, (created["id"],), {}),
        ):
            error = refused(call, *args, **kwargs)
            assert (error.http_status, error.code) == (402, "SUBSCRIPTION_REQUIRED")
        assert sdk.get_offer(created["id"]) == created
        assert isinstance(sdk.get_categories(), list)
    finally:
        subscription.ends_at = ends_at
        subscription.save()
    assert promotions(shop_organization) == before


def test_the_product_categories_the_organization_knows(sdk, sdk_other, shop_organization):
    name = tag()
    with in_shop(shop_organization):
        order = Order.objects.create(
            external_id=f"order-{name}", currency="EUR", total=Decimal("5.00"), points_earned=5
        )
        for position, category in enumerate((f"Bakery {name}", f"bakery {name}", "", f" Drinks {name} ")):
            OrderLine.objects.create(
                order=order,
                position=position,
                sku=f"SKU{position}",
                category=category,
                quantity=Decimal("1"),
                unit_price=Decimal("1.25"),
                points_earned=1,
            )
        EarningRule.objects.create(
            name="Double",
            applies_to="category",
            match_values=f"Pastry {name}, ,DRINKS {name}",
            effect="multiplier",
        )
    sdk.create_offer(
        title="Fruit", discount_type="percentage", discount_percentage=5, categories=[f"Fruit {name}"]
    )

    categories = sdk.get_categories()

    assert [c for c in categories if name in c] == [
        f"Bakery {name}",
        f"DRINKS {name}",
        f"Fruit {name}",
        f"Pastry {name}",
    ]
    assert {"giftcard", "prepaid"} <= set(categories)  # the point program's exclusions
    assert categories == sorted(categories, key=lambda c: (c.casefold(), c))
    assert len({c.casefold() for c in categories}) == len(categories)
    assert not [c for c in sdk_other.get_categories() if name in c]
