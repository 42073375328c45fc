"""The profile as an installable web app: the organization's manifest and icons, the service
worker script, the customer's cache key and the offline page (docs/decisions/0057)."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from loyalty_platform.branding.app_icons import name_initial
from loyalty_platform.branding.models import Logo
from loyalty_platform.branding.services import logo_replace
from tests.conftest import HostClient
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ICON_NAMES = {"icon-180": 180, "icon-192": 192, "icon-512": 512, "maskable-192": 192, "maskable-512": 512}


@pytest.fixture
def branded(organization, other_organization):
    organization.name, organization.brand_color = "Café Luna Vilnius", "#aa3300"
    organization.save(update_fields=["name", "brand_color"])
    other_organization.name, other_organization.brand_color = "Bakery B", "#113366"
    other_organization.save(update_fields=["name", "brand_color"])
    return organization, other_organization


def manifest_of(client, query: str = "") -> tuple[object, dict]:
    response = client.get("/me/manifest.webmanifest" + query)
    return response, json.loads(response.content) if response.status_code == 200 else {}


def png(response) -> Image.Image:
    assert response.content.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(response.content))
    image.verify()
    return Image.open(io.BytesIO(response.content))


def add_logo(organization, color=(0, 200, 0)) -> Logo:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), color).save(out, format="PNG")
    with tenant_context(organization):
        return logo_replace(upload=SimpleUploadedFile("logo.png", out.getvalue()), actor=None)


def test_each_organizations_host_serves_its_own_manifest(branded, client_a, client_b):
    response_a, manifest_a = manifest_of(client_a, "?lang=en")
    response_b, manifest_b = manifest_of(client_b, "?lang=en")

    assert response_a.status_code == 200
    assert response_a["Content-Type"] == "application/manifest+json"
    icons = manifest_a.pop("icons")
    assert manifest_a == {
        "id": "/me/",
        "name": "Café Luna Vilnius",
        "short_name": "Café Luna",
        "description": "Your card, points and coupons at Café Luna Vilnius",
        "lang": "en",
        "dir": "ltr",
        "start_url": "/me/",
        "scope": "/me/",
        "display": "standalone",
        "theme_color": "#aa3300",
        "background_color": "#aa3300",
    }
    assert [(icon["sizes"], icon["purpose"], icon["type"]) for icon in icons] == [
        ("192x192", "any", "image/png"),
        ("512x512", "any", "image/png"),
        ("192x192", "maskable", "image/png"),
        ("512x512", "maskable", "image/png"),
    ]
    assert (manifest_b["name"], manifest_b["short_name"], manifest_b["theme_color"]) == (
        "Bakery B",
        "Bakery B",
        "#113366",
    )
    assert "Café Luna" not in response_b.content.decode() and "#aa3300" not in response_b.content.decode()
    # The icon URLs name each organization's own version.
    assert {icon["src"].split("?v=")[1] for icon in icons}.isdisjoint(
        {icon["src"].split("?v=")[1] for icon in manifest_b["icons"]}
    )


def test_the_manifest_speaks_the_pages_language_and_refuses_an_unknown_one(branded, client_a):
    response, manifest = manifest_of(client_a, "?lang=nl")
    assert (response.status_code, manifest["lang"]) == (200, "nl")

    refused = client_a.get("/me/manifest.webmanifest?lang=xx")

    assert (refused.status_code, json.loads(refused.content)) == (
        422,
        {"error": "lang_invalid", "field": "lang"},
    )


def test_the_manifest_is_revalidated_with_its_etag(branded, client_a):
    first = client_a.get("/me/manifest.webmanifest?lang=en")

    again = client_a.get("/me/manifest.webmanifest?lang=en", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["Cache-Control"] == "no-cache"
    assert (again.status_code, again.content) == (304, b"")
    branded[0].brand_color = "#00aa00"
    branded[0].save(update_fields=["brand_color"])
    changed = client_a.get("/me/manifest.webmanifest?lang=en", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (changed.status_code, json.loads(changed.content)["theme_color"]) == (200, "#00aa00")


def test_the_icons_are_pngs_of_their_size_in_each_organizations_colour(branded, client_a, client_b):
    _, manifest_a = manifest_of(client_a, "?lang=en")
    version_a = manifest_a["icons"][0]["src"].split("?v=")[1]
    for name, size in ICON_NAMES.items():
        response = client_a.get(f"/me/icons/{name}.png?v={version_a}")
        assert (response.status_code, response["Content-Type"]) == (200, "image/png")
        image = png(response)
        assert (image.format, image.size, image.mode) == ("PNG", (size, size), "RGB")
        assert image.getpixel((0, 0)) == (0xAA, 0x33, 0x00)
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response["ETag"] == f'"{version_a}-{name}"'
    other = png(client_b.get("/me/icons/icon-192.png"))
    assert other.getpixel((0, 0)) == (0x11, 0x33, 0x66)


def test_an_icon_url_of_another_version_is_revalidated_and_the_etag_answers_304(branded, client_a):
    response = client_a.get("/me/icons/icon-192.png?v=old")

    assert response["Cache-Control"] == "public, max-age=300"
    again = client_a.get("/me/icons/icon-192.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert (again.status_code, again.content) == (304, b"")


def test_the_icons_show_the_logo_on_a_white_plate_and_change_version_with_it(branded, client_a, client_b):
    _, before = manifest_of(client_a, "?lang=en")

    add_logo(branded[0])

    _, after = manifest_of(client_a, "?lang=en")
    assert before["icons"][0]["src"] != after["icons"][0]["src"]
    for name, size in ICON_NAMES.items():
        image = png(client_a.get(after["icons"][0]["src"].replace("icon-192", name)))
        assert image.size == (size, size)
        assert image.getpixel((0, 0)) == (0xAA, 0x33, 0x00)
        assert image.getpixel((size // 2, size // 2)) == (0, 200, 0)  # the logo
        plate_top = (size - round(size * (0.56 if name.startswith("maskable") else 0.76))) // 2
        assert image.getpixel((size // 2, plate_top + 4)) == (255, 255, 255)
        assert image.getpixel((size // 2, plate_top - 4)) == (0xAA, 0x33, 0x00)
    # Organization B has no logo: its icon is untouched.
    assert png(client_b.get("/me/icons/icon-192.png")).getpixel((96, 96)) != (0, 200, 0)


def test_an_unknown_icon_is_not_found_and_a_post_is_refused(client_a):
    response = client_a.get("/me/icons/icon-64.png")

    assert (response.status_code, json.loads(response.content)) == (404, {"error": "not_found"})
    assert client_a.post("/me/icons/icon-192.png").status_code == 405
    assert client_a.post("/me/manifest.webmanifest").status_code == 405


def test_the_service_worker_is_served_for_the_profiles_scope_and_always_revalidated(client_a):
    response = client_a.get("/me/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/me/"
    assert response["Cache-Control"] == "no-cache, max-age=0"
    body = response.content.decode()
    assert 'const KEY_HEADER = "X-Customer-Cache-Key";' in body
    assert '"/static/css/profile.css"' in body and 'const SCOPE = "/me/";' in body
    assert client_a.post("/me/sw.js").status_code == 405


def test_the_profiles_answers_name_the_customer_and_organization_they_belong_to(
    organization, other_organization, programs
):
    customer = create_customer(organization)
    second = create_customer(organization)
    client = signed_in(organization, customer)
    # Primary keys repeat across schemas: B's customer may have the same id.
    other = create_customer(other_organization)

    dashboard = client.get("/me/")
    qr = client.get("/me/api/qr")

    key = dashboard["X-Customer-Cache-Key"]
    assert len(key) == 32 and int(key, 16) >= 0
    assert qr["X-Customer-Cache-Key"] == key
    assert signed_in(organization, second).get("/me/api/qr")["X-Customer-Cache-Key"] != key
    other_key = signed_in(other_organization, other).get("/me/")["X-Customer-Cache-Key"]
    assert other_key not in (key, "")
    anonymous = HostClient(organization).get("/me/api/qr")
    assert anonymous.status_code == 401 and "X-Customer-Cache-Key" not in anonymous


def test_the_profile_pages_link_the_manifest_and_the_dashboard_holds_the_hidden_notice(
    organization, programs
):
    customer = create_customer(organization)

    page = signed_in(organization, customer).get("/me/").content.decode()
    login = HostClient(organization).get("/me/login").content.decode()

    for html in (page, login):
        assert '<link rel="manifest" href="/me/manifest.webmanifest?lang=en">' in html
        assert '<meta name="theme-color" content="#1f6f5c">' in html
        assert '<link rel="apple-touch-icon" href="/me/icons/icon-180.png">' in html
        assert 'data-service-worker="/me/sw.js" data-scope="/me/"' in html
    assert '<p id="offline-notice" data-copy="network" class="offline-notice" role="status" hidden>' in page
    assert "You are offline - this may be out of date (last updated " in page


def test_the_offline_page_needs_no_customer(client_a):
    response = client_a.get("/me/offline")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="offline-title">You are offline</h1>' in html and 'id="my-qr"' not in html


@pytest.mark.parametrize(
    ("name", "letter"), [("Žalias", "Z"), ("café", "C"), ("7 Days", "7"), ("Ёлка", ""), ("!!", "")]
)
def test_an_icon_without_a_logo_shows_the_names_latin_initial_or_a_card(name, letter):
    assert name_initial(name) == letter


def test_an_icon_without_a_logo_draws_the_initial_or_a_card_in_the_text_colour(branded, client_a):
    lettered = png(client_a.get("/me/icons/icon-192.png"))
    colours = dict((colour, count) for count, colour in lettered.getcolors(maxcolors=192 * 192))
    assert colours[(255, 255, 255)] > 100  # the C, white on #aa3300

    branded[0].name = "Ёлка"
    branded[0].save(update_fields=["name"])

    card = png(client_a.get("/me/icons/icon-192.png"))
    # The card's stripe crosses the middle of its upper third, in the text colour.
    assert card.getpixel((96, 82)) == (255, 255, 255)
    assert card.getpixel((96, 120)) == (0xAA, 0x33, 0x00)
