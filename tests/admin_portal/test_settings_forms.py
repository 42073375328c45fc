"""The organization settings and API key forms: a valid brand colour with readable text on
it, and an API key's shop chosen from the organization's shops."""

import pytest
from django_tenants.utils import tenant_context

from tenants.branding import BLACK, WHITE, contrast_ratio, text_color_on
from tenants.models import Organization
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
