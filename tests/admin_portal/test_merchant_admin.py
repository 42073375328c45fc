import re

from django.test import Client
from django_tenants.utils import tenant_context

from tenants.models import ApiKey, Organization
from tests.factories import StaffUserFactory
from tests.pos_fixtures import PosClient, create_customer


def staff_login(client, organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
    assert client.login(email="owner@example.com", password="correct horse battery")


def test_staff_issue_an_api_key_that_is_shown_once_and_works(organization, programs, client_a):
    staff_login(client_a, organization)

    response = client_a.post(
        "/admin/tenants/apikey/add/", {"label": "Till 2", "shop_id": "", "rate_limits": "{}"}, follow=True
    )

    page = response.content.decode()
    secret = re.search(r"sk_live_[0-9a-f]{12}_[A-Za-z0-9]{40}", page).group(0)
    api_key = ApiKey.objects.get(lookup_id=secret.split("_")[2])
    assert (api_key.organization_id, api_key.label) == (organization.pk, "Till 2")
    customer = create_customer(organization)
    assert (
        PosClient("test-a.localhost", secret)
        .get("/webhook/customer", {"code": customer.customer_code})
        .status_code
        == 200
    )
    lookup_id, shop_secret = secret.removeprefix("sk_live_").split("_")
    assert f"API key lty_{lookup_id}, API secret {shop_secret}" in page
    shop_api = Client(HTTP_HOST="test-a.localhost").post(
        "/en/shop/validate-credentials", HTTP_X_API_KEY=f"lty_{lookup_id}", HTTP_X_API_SECRET=shop_secret
    )
    assert (shop_api.status_code, shop_api.json()["data"]["partner"]["id"]) == (200, organization.pk)
    detail = client_a.get(f"/admin/tenants/apikey/{api_key.pk}/change/").content.decode()
    assert secret not in detail
    assert shop_secret not in detail


def test_staff_see_only_their_own_keys_and_organization(organization, other_organization, client_a):
    from tenants.services import api_key_create

    mine = api_key_create(organization=organization, label="mine").api_key
    theirs = api_key_create(organization=other_organization, label="theirs").api_key
    staff_login(client_a, organization)

    keys_page = client_a.get("/admin/tenants/apikey/").content.decode()
    assert mine.lookup_id in keys_page and theirs.lookup_id not in keys_page
    assert client_a.get(f"/admin/tenants/apikey/{theirs.pk}/change/").status_code == 302  # "doesn't exist"
    orgs_page = client_a.get("/admin/tenants/organization/").content.decode()
    assert "Test Org A" in orgs_page and "Test Org B" not in orgs_page
    assert client_a.get(f"/admin/tenants/organization/{other_organization.pk}/change/").status_code == 302


def test_staff_switch_the_verification_preset_and_the_api_follows(organization, programs, client_a, pos):
    staff_login(client_a, organization)
    customer = create_customer(organization, points=500)
    body = {"customer_code": customer.customer_code, "value": 100, "card_type": "point", "external_id": "r"}
    assert (
        pos.post("/webhook/redeem", {**body, "external_id": "r0"}).status_code == 200
    )  # caches the organization

    response = client_a.post(
        f"/admin/tenants/organization/{organization.pk}/change/",
        {
            "name": "Test Org A",
            "verification_preset": "balanced",
            "pin_length": 6,
            "brand_color": "#123456",
            "rate_limits": "{}",
        },
    )

    assert response.status_code == 302
    assert Organization.objects.get(pk=organization.pk).verification_preset == "balanced"
    prompt = pos.post("/webhook/redeem", body)
    assert (prompt.status_code, prompt.json()["pin_length"]) == (412, 6)


def test_invalid_rate_limits_are_refused_in_the_admin(organization, client_a):
    staff_login(client_a, organization)

    response = client_a.post(
        f"/admin/tenants/organization/{organization.pk}/change/",
        {
            "name": "Test Org A",
            "verification_preset": "standard",
            "pin_length": 4,
            "brand_color": "#123456",
            "rate_limits": '{"transactions": -1}',
        },
    )

    assert response.status_code == 200
    assert "must be a whole number" in response.content.decode()
    assert Organization.objects.get(pk=organization.pk).rate_limits == {}


def test_customer_and_ledger_pages_are_read_only(organization, programs, client_a):
    staff_login(client_a, organization)
    customer = create_customer(organization, points=42)

    assert client_a.get("/admin/customers/customer/").status_code == 200
    assert str(customer.customer_code) in client_a.get("/admin/customers/customer/").content.decode()
    assert client_a.get("/admin/customers/customer/add/").status_code == 403
    ledger = client_a.get("/admin/programs/ledgerentry/")
    assert ledger.status_code == 200 and "42" in ledger.content.decode()
    assert client_a.get("/admin/programs/ledgerentry/add/").status_code == 403
