import itertools

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from loyalty_platform.verification.services import customer_qr_payload
from tests.pos_fixtures import create_customer, snapshot


def test_find_by_code_as_number_or_numeric_string(organization, programs, pos):
    customer = create_customer(organization, email="anna@gmail.com", points=120, stamps=4)
    expected = {
        "data": {
            "customer_code": customer.customer_code,
            "masked_email": "a***@gmail.com",
            "stamp_count": 4,
            "point_balance": 120,
            "status": "active",
        }
    }

    assert pos.get("/webhook/customer", {"code": customer.customer_code}).json() == expected
    assert pos.get("/webhook/customer", {"code": str(customer.customer_code)}).json() == expected


def test_find_by_qr_email_phone_and_card_number(organization, programs, pos):
    customer = create_customer(organization, email="Bob@Example.com", points=7)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(phone="+31612345678")
        card_number = customer.cards.get(program__kind="point").card_number
    qr = customer_qr_payload(organization=organization, customer=customer).payload

    for params in (
        {"qr": qr},
        {"email": "bob@example.COM"},
        {"phone": "+31 6 1234 5678"},
        {"card_number": card_number},
    ):
        response = pos.get("/webhook/customer", params)
        assert response.status_code == 200, params
        assert response.json()["data"]["customer_code"] == customer.customer_code


def test_find_without_code_or_qr_is_400(organization, programs, pos):
    response = pos.get("/webhook/customer")
    assert (response.status_code, response.json()) == (400, {"error": "code or qr is required"})


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"code": "999998"}, 404, "customer_not_found"),
        ({"code": "abc"}, 422, "customer_code_invalid"),
        ({"code": "12"}, 422, "customer_code_invalid"),
        ({"code": "9" * 400}, 422, "customer_code_invalid"),
        ({"code": "1e5"}, 422, "customer_code_invalid"),
        ({"qr": "LPQ1.123456.9999999999.forged"}, 422, "invalid_qr"),
        ({"qr": "x" * 5000}, 422, "invalid_qr"),
        ({"email": "nobody@example.com"}, 404, "customer_not_found"),
        ({"phone": "not a phone"}, 422, "phone_invalid"),
        ({"card_number": "000000000000"}, 404, "customer_not_found"),
    ],
)
def test_find_errors(organization, programs, pos, params, status, code):
    response = pos.get("/webhook/customer", params)
    assert (response.status_code, response.json()["error"]) == (status, code)


def test_customer_of_another_organization_is_not_found(organization, other_organization, programs, pos_b):
    customer = create_customer(organization)
    qr = customer_qr_payload(organization=organization, customer=customer).payload

    assert pos_b.get("/webhook/customer", {"code": customer.customer_code}).json() == {
        "error": "customer_not_found"
    }
    assert pos_b.get("/webhook/customer", {"qr": qr}).json() == {"error": "invalid_qr"}
    assert pos_b.get("/webhook/customer", {"email": customer.email}).json() == {"error": "customer_not_found"}


def test_enroll_creates_a_customer_with_consents(organization, programs, pos):
    response = pos.post(
        "/webhook/customer",
        {
            "email": "New.Person@Example.com",
            "consent_terms": True,
            "consent_privacy": True,
            "consent_marketing": True,
        },
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {
        "customer_code": data["customer_code"],
        "masked_email": "n***@example.com",
        "stamp_count": 0,
        "point_balance": 0,
        "status": "active",
        "is_new": True,
    }
    assert 100000 <= data["customer_code"] <= 999999
    with tenant_context(organization):
        customer = Customer.objects.get(customer_code=data["customer_code"])
        assert customer.email == "new.person@example.com"
        assert customer.consent_terms_at and customer.consent_privacy_at and customer.consent_marketing_at


def test_enroll_is_idempotent_on_email_in_any_case(organization, programs, pos):
    first = pos.post(
        "/webhook/customer", {"email": "same@example.com", "consent_terms": True, "consent_privacy": True}
    )
    again = pos.post(
        "/webhook/customer", {"email": "SAME@example.com", "consent_terms": True, "consent_privacy": True}
    )

    assert first.json()["data"]["is_new"] is True
    assert again.json()["data"] == {**first.json()["data"], "is_new": False}
    with tenant_context(organization):
        assert Customer.objects.filter(email__iexact="same@example.com").count() == 1


def test_enrolled_codes_are_random_not_sequential(organization, programs, pos):
    codes = [
        pos.post(
            "/webhook/customer",
            {"email": f"r{i}@example.com", "consent_terms": True, "consent_privacy": True},
        ).json()["data"]["customer_code"]
        for i in range(5)
    ]
    differences = {b - a for a, b in itertools.pairwise(codes)}
    assert len(set(codes)) == 5
    assert differences != {1}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"consent_terms": True, "consent_privacy": True}, "email_required"),
        ({"email": "", "consent_terms": True, "consent_privacy": True}, "email_required"),
        ({"email": "not-an-email", "consent_terms": True, "consent_privacy": True}, "invalid_email"),
        ({"email": 42, "consent_terms": True, "consent_privacy": True}, "invalid_email"),
        (
            {"email": "a@" + "b" * 300 + ".com", "consent_terms": True, "consent_privacy": True},
            "invalid_email",
        ),
        ({"email": "x@example.com", "consent_privacy": True}, "consent_terms_required"),
        (
            {"email": "x@example.com", "consent_terms": False, "consent_privacy": True},
            "consent_terms_required",
        ),
        ({"email": "x@example.com", "consent_terms": True}, "consent_privacy_required"),
        (
            {"email": "x@example.com", "consent_terms": "yes", "consent_privacy": True},
            "consent_terms_invalid",
        ),
        (
            {"email": "x@example.com", "consent_terms": True, "consent_privacy": True, "phone": "12"},
            "phone_invalid",
        ),
        (
            {"email": "x@example.com", "consent_terms": True, "consent_privacy": True, "admin": True},
            "unknown_field",
        ),
    ],
)
def test_enroll_refuses_bad_input_and_changes_nothing(organization, programs, pos, body, code):
    before = snapshot(organization)

    response = pos.post("/webhook/customer", body)

    assert (response.status_code, response.json()["error"]) == (422, code)
    assert snapshot(organization) == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        ("[1, 2]", 422, "invalid_body"),
        ('"text"', 422, "invalid_body"),
        ("", 422, "email_required"),
        ('{"email": NaN}', 400, "invalid_json"),
        ("[" * 30000 + "]" * 30000, 400, "invalid_json"),  # deep, but under the size cap
    ],
)
def test_malformed_bodies_are_4xx(organization, programs, pos, raw, status, code):
    before = snapshot(organization)

    response = pos.post("/webhook/customer", raw=raw)

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert snapshot(organization) == before


def test_wrong_content_type_is_415(organization, programs, pos):
    response = pos.client.post(
        "/webhook/customer",
        data="email=x",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_API_KEY=pos.key,
    )
    assert (response.status_code, response.json()) == (415, {"error": "unsupported_media_type"})


def test_unsupported_method_is_405(organization, programs, pos):
    response = pos.client.delete("/webhook/customer", HTTP_X_API_KEY=pos.key)
    assert (response.status_code, response.json()) == (405, {"error": "method_not_allowed"})
