"""The organization settings and API key forms: a valid brand colour with readable text on
it, and an API key's shop chosen from the organization's shops."""

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.core.errors import DomainError
from loyalty_platform.shops.models import Shop
from tenants.branding import BLACK, WHITE, contrast_ratio, text_color_on
from tenants.models import ApiKey, Organization
from tenants.services import api_key_create, api_key_update
from tests.admin_portal.test_merchant_admin import staff_login


def settings_form(**changes) -> dict:
    return {
        "name": "Test Org A",
        "verification_preset": "standard",
        "pin_length": 4,
        "brand_color": "#123456",
        "rate_limits": "{}",
        **changes,
    }


@pytest.mark.parametrize("bad", ["banana", "#12345", "#12345g", "123456", "#1234567"])
def test_a_brand_colour_that_is_not_a_hex_colour_is_refused(organization, client_a, bad):
    staff_login(client_a, organization)
    before = Organization.objects.get(pk=organization.pk).brand_color

    response = client_a.post(
        f"/admin/tenants/organization/{organization.pk}/change/", settings_form(brand_color=bad)
    )

    assert response.status_code == 200
    assert "Give a colour as #rrggbb" in response.content.decode()
    assert Organization.objects.get(pk=organization.pk).brand_color == before


def test_the_brand_colour_is_picked_with_a_colour_input_and_saved_lower_case(organization, client_a):
    staff_login(client_a, organization)
    url = f"/admin/tenants/organization/{organization.pk}/change/"
    assert 'type="color" name="brand_color"' in client_a.get(url).content.decode()

    assert client_a.post(url, settings_form(brand_color="#FFEE00")).status_code == 302

    assert Organization.objects.get(pk=organization.pk).brand_color == "#ffee00"


@pytest.mark.parametrize(
    ("background", "text"), [("#1f6f5c", WHITE), ("#ffee00", BLACK), ("#000000", WHITE), ("#777777", BLACK)]
)
def test_the_header_text_is_the_colour_that_reads_on_the_brand_colour(background, text):
    assert text_color_on(background) == text
    assert contrast_ratio(background, text) >= 4.5


def test_every_colour_reads_with_white_or_black_text():
    # The worst case of max(contrast with white, with black) over a grid of the RGB cube.
    steps = range(0, 256, 15)
    worst = min(
        contrast_ratio(f"#{r:02x}{g:02x}{b:02x}", text_color_on(f"#{r:02x}{g:02x}{b:02x}"))
        for r in steps
        for g in steps
        for b in steps
    )
    assert worst >= 4.5


def test_customer_pages_draw_a_bad_stored_colour_as_the_default_with_readable_text(organization, client_a):
    Organization.objects.filter(pk=organization.pk).update(brand_color="banana")  # saved before validation
    try:
        page = client_a.get("/me/login").content.decode()
    finally:
        Organization.objects.filter(pk=organization.pk).update(brand_color="#1f6f5c")

    assert "banana" not in page
    assert "--brand: #1f6f5c; --brand-ink: #ffffff;" in page


def test_customer_pages_use_black_text_on_a_light_brand_colour(organization, client_a):
    Organization.objects.filter(pk=organization.pk).update(brand_color="#ffee00")
    try:
        with tenant_context(organization):
            page = client_a.get("/me/login").content.decode()
    finally:
        Organization.objects.filter(pk=organization.pk).update(brand_color="#1f6f5c")

    assert "--brand: #ffee00; --brand-ink: #000000;" in page


def shops_in_two_organizations(organization, other_organization) -> tuple[Shop, Shop]:
    """A shop of each; the other's id is no shop id of the first (ids are per schema)."""
    with tenant_context(organization):
        mine = Shop.objects.create(name="Main Street")
    with tenant_context(other_organization):
        theirs = [Shop.objects.create(name="Their shop") for _ in range(mine.pk + 1)][-1]
    with tenant_context(organization):
        assert not Shop.objects.filter(pk=theirs.pk).exists()
    return mine, theirs


def test_an_api_keys_shop_is_a_select_of_the_organizations_shops(organization, other_organization, client_a):
    mine, theirs = shops_in_two_organizations(organization, other_organization)
    staff_login(client_a, organization)

    form_page = client_a.get("/admin/tenants/apikey/add/").content.decode()
    assert '<select name="shop_id"' in form_page and ">Main Street</option>" in form_page
    assert "Their shop" not in form_page
    refused = [
        client_a.post("/admin/tenants/apikey/add/", {"label": label, "shop_id": shop_id, "rate_limits": "{}"})
        for label, shop_id in (("negative", "-7"), ("other org", str(theirs.pk)), ("text", "x"))
    ]
    assert [r.status_code for r in refused] == [200, 200, 200]
    assert all("Select a valid choice" in r.content.decode() for r in refused)
    assert not ApiKey.objects.filter(organization=organization).exists()

    done = client_a.post(
        "/admin/tenants/apikey/add/", {"label": "Till", "shop_id": str(mine.pk), "rate_limits": "{}"}
    )

    assert done.status_code == 302
    assert ApiKey.objects.get(organization=organization).shop_id == mine.pk


def test_the_api_key_service_refuses_a_shop_of_another_organization(organization, other_organization):
    mine, theirs = shops_in_two_organizations(organization, other_organization)
    key = api_key_create(organization=organization, label="k", shop_id=mine.pk).api_key

    for shop_id in (-7, theirs.pk):
        with pytest.raises(DomainError) as refused:
            api_key_create(organization=organization, label="bad", shop_id=shop_id)
        assert refused.value.code == "shop_id_invalid"
        with pytest.raises(DomainError):
            api_key_update(api_key=key, label="changed", shop_id=shop_id, rate_limits={})

    key.refresh_from_db()
    assert (key.label, key.shop_id) == ("k", mine.pk)
    assert list(ApiKey.objects.filter(organization=organization).values_list("label", flat=True)) == ["k"]
