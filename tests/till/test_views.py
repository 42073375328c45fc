import json

from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import CATALOG
from loyalty_platform.till.messages import till_messages
from loyalty_platform.till.services import till_key_issue
from tenants.models import ApiKey
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.pos_fixtures import PosClient, create_customer
from tests.till.conftest import PASSWORD, cashier_create


def login(client, email: str) -> None:
    assert client.login(email=email, password=PASSWORD)


def test_the_till_page_needs_the_till_permission(organization, shop, client_a):
    cashier_create(organization, "nope@example.com", may_use_till=False)
    login(client_a, "nope@example.com")

    assert client_a.get("/admin/till/").status_code == 403
    response = client_a.post("/admin/till/key/", {"shop": shop.pk})

    assert response.status_code == 403
    assert response.json() == {"error": "forbidden"}
    assert not ApiKey.objects.filter(organization=organization).exists()


def test_the_till_page_renders_no_key_and_its_script_config(organization, shop, cashier, client_a):
    login(client_a, "cashier@example.com")

    response = client_a.get("/admin/till/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "sk_live_" not in page
    assert '<script src="/static/js/till.js" defer></script>' in page
    config = json.loads(
        page.split('<script id="till-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["keyUrl"] == "/admin/till/key/"
    assert config["messages"]["customer_blocked"] == "This customer is blocked: nothing was changed."
    # Only one shop: the page opens the till at it without asking.
    assert f'name="shop" value="{shop.pk}" data-only-shop="true"' in page
    assert 'href="/admin/till/"' in page  # the sidebar entry


def test_every_error_code_of_the_api_has_a_message_at_the_till(organization, cashier, client_a):
    messages = till_messages()

    assert set(CATALOG) <= set(messages)
    assert all(messages[code] for code in CATALOG)


def test_superusers_open_the_till(organization, shop, client_a):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
    login(client_a, "owner@example.com")

    assert client_a.get("/admin/till/").status_code == 200


def test_the_key_endpoint_gives_a_working_key_as_uncached_json(
    organization, programs, shop, cashier, client_a
):
    login(client_a, "cashier@example.com")

    response = client_a.post("/admin/till/key/", {"shop": shop.pk})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()["data"]
    assert data["shop"] == {"id": shop.pk, "name": "Main street"}
    api_key = ApiKey.objects.get(lookup_id=data["key"].split("_")[2])
    assert (api_key.staff_user_id, api_key.shop_id) == (cashier.pk, shop.pk)
    assert data["expires_at"] == api_key.expires_at.isoformat()
    customer = create_customer(organization)
    pos = PosClient("test-a.localhost", data["key"])
    assert pos.get("/webhook/customer", {"code": customer.customer_code}).status_code == 200


def test_the_key_endpoint_refuses_get(organization, shop, cashier, client_a):
    login(client_a, "cashier@example.com")

    response = client_a.get("/admin/till/key/", {"shop": shop.pk})

    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed"}
    assert not ApiKey.objects.filter(organization=organization).exists()


def test_the_key_endpoint_requires_the_csrf_token(organization, shop, cashier):
    client = HostClient(organization, enforce_csrf_checks=True)
    login(client, "cashier@example.com")

    response = client.post("/admin/till/key/", {"shop": shop.pk})

    assert response.status_code == 403
    assert not ApiKey.objects.filter(organization=organization).exists()


def test_the_key_endpoint_accepts_the_pages_csrf_token(organization, shop, cashier):
    client = HostClient(organization, enforce_csrf_checks=True)
    login(client, "cashier@example.com")
    client.get("/admin/till/")
    token = client.cookies["csrftoken"].value

    response = client.post("/admin/till/key/", {"shop": shop.pk}, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200


def test_the_key_endpoint_requires_a_signed_in_staff_member(organization, shop, client_a):
    response = client_a.post("/admin/till/key/", {"shop": shop.pk})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not ApiKey.objects.filter(organization=organization).exists()


def test_a_bad_shop_is_a_form_error_that_changes_nothing(organization, shop, cashier, client_a):
    login(client_a, "cashier@example.com")

    answers = [
        client_a.post("/admin/till/key/", {"shop": value}) for value in ("-7", "abc", str(shop.pk + 1000), "")
    ]

    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (422, "shop_invalid"),
        (422, "shop_invalid"),
        (422, "shop_invalid"),
        (422, "shop_required"),
    ]
    assert not ApiKey.objects.filter(organization=organization).exists()
    with tenant_context(organization):
        assert not AuditLogEntry.objects.exists()


def test_an_inactive_shop_cannot_be_chosen(organization, shop, cashier, client_a):
    with tenant_context(organization):
        shop.is_active = False
        shop.save(update_fields=["is_active"])
    login(client_a, "cashier@example.com")

    response = client_a.post("/admin/till/key/", {"shop": shop.pk})

    assert (response.status_code, response.json()["error"]) == (422, "shop_invalid")


def test_till_keys_are_read_only_in_the_api_keys_admin(organization, shop, cashier, client_a):
    with tenant_context(organization):
        issued = till_key_issue(organization=organization, user=cashier, shop=shop)
        StaffUserFactory(email="owner@example.com")
    login(client_a, "owner@example.com")

    listing = client_a.get("/admin/tenants/apikey/").content.decode()
    assert "Browser till (one staff member, expires)" in listing
    response = client_a.post(
        f"/admin/tenants/apikey/{issued.api_key.pk}/change/",
        {"label": "hijacked", "shop_id": "", "rate_limits": "{}"},
    )
    assert response.status_code == 403
    assert ApiKey.objects.get(pk=issued.api_key.pk).label == "Till: cashier@example.com @ Main street"
