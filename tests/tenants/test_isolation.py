"""Two organizations hold rows with the same primary keys; neither ever sees the other's."""

import re

from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.shops.models import Shop
from tests.factories import ShopFactory, StaffUserFactory

SHARED_PK = 4242


def _seed(organization, other_organization):
    with tenant_context(organization):
        ShopFactory(pk=SHARED_PK, name="Shop of A")
        StaffUserFactory(pk=SHARED_PK, email="same@example.com", name="Staff of A")
    with tenant_context(other_organization):
        ShopFactory(pk=SHARED_PK, name="Shop of B")
        StaffUserFactory(pk=SHARED_PK, email="same@example.com", name="Staff of B")


def test_same_primary_keys_resolve_to_each_organizations_own_rows(organization, other_organization):
    _seed(organization, other_organization)

    with tenant_context(organization):
        assert list(Shop.objects.values_list("pk", "name")) == [(SHARED_PK, "Shop of A")]
        assert User.objects.get(pk=SHARED_PK).name == "Staff of A"
    with tenant_context(other_organization):
        assert list(Shop.objects.values_list("pk", "name")) == [(SHARED_PK, "Shop of B")]
        assert User.objects.get(pk=SHARED_PK).name == "Staff of B"


def test_admin_of_one_organization_lists_only_its_rows(organization, other_organization, client_a, client_b):
    _seed(organization, other_organization)

    assert client_a.login(email="same@example.com", password="correct horse battery")
    page_a = client_a.get("/admin/shops/shop/").content.decode()
    assert "Shop of A" in page_a
    assert "Shop of B" not in page_a
    detail_a = client_a.get(f"/admin/shops/shop/{SHARED_PK}/change/").content.decode()
    assert 'value="Shop of A"' in detail_a

    assert client_b.login(email="same@example.com", password="correct horse battery")
    page_b = client_b.get("/admin/shops/shop/").content.decode()
    assert "Shop of B" in page_b
    assert "Shop of A" not in page_b


def test_a_session_of_one_organization_is_unknown_on_another(
    organization, other_organization, client_a, client
):
    with tenant_context(organization):
        StaffUserFactory(email="only-a@example.com")
    assert client_a.login(email="only-a@example.com", password="correct horse battery")
    assert client_a.get("/admin/").status_code == 200

    session_cookie = client_a.cookies["sessionid"].value
    client.cookies["sessionid"] = session_cookie
    response = client.get("/admin/", HTTP_HOST="test-b.localhost")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_merchant_staff_cannot_log_into_the_platform_admin(organization, platform_client):
    with tenant_context(organization):
        StaffUserFactory(email="merchant@example.com")
    assert not platform_client.login(email="merchant@example.com", password="correct horse battery")


def test_merchant_admin_shows_no_platform_models_beyond_its_scoped_ones(organization, client_a):
    with tenant_context(organization):
        StaffUserFactory(email="boss@example.com")
    client_a.login(email="boss@example.com", password="correct horse battery")
    index = client_a.get("/admin/").content.decode()
    assert "/admin/shops/shop/" in index
    assert sorted(set(re.findall(r'href="(/admin/tenants/[a-z]+/)"', index))) == [
        "/admin/tenants/apikey/",
        "/admin/tenants/organization/",
    ]
    for model in ("plan", "subscription", "domain"):
        assert client_a.get(f"/admin/tenants/{model}/").status_code == 404
