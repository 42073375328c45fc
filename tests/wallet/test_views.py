"""The profile's wallet buttons and downloads: off until configured (no button, the URLs answer
wallet_not_configured), only for the signed-in customer, and only on their organization's host."""

import io
import json
import zipfile

import jwt
import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.wallet.services import GOOGLE_SAVE_URL
from tests.conftest import HostClient
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer

WALLET_URLS = ["/me/wallet/apple.pkpass", "/me/wallet/google", "/wallet/logo.png"]
NOT_CONFIGURED = {
    "error": "wallet_not_configured",
    "message": "Adding the card to this wallet is not available here.",
}


def buttons(response) -> tuple[bool, bool]:
    page = response.content.decode()
    return 'id="wallet-apple"' in page, 'id="wallet-google"' in page


@pytest.mark.parametrize("url", WALLET_URLS)
def test_off_until_configured_the_urls_refuse_and_the_profile_has_no_buttons(organization, programs, url):
    customer = create_customer(organization, points=10)
    client = signed_in(organization, customer)

    response = client.get(url)
    assert (response.status_code, response.json()) == (404, NOT_CONFIGURED)
    assert buttons(client.get("/me/")) == (False, False)


def test_each_wallet_is_offered_once_configured(organization, programs, apple_wallet, settings):
    client = signed_in(organization, create_customer(organization))
    settings.GOOGLE_WALLET_ISSUER_ID = ""

    assert buttons(client.get("/me/")) == (True, False)
    assert client.get("/me/wallet/google").json() == NOT_CONFIGURED


def test_the_signed_in_customer_downloads_their_own_pass(organization, programs, apple_wallet, google_wallet):
    customer = create_customer(organization, points=55)
    client = signed_in(organization, customer)

    page = client.get("/me/")
    assert buttons(page) == (True, True)
    assert (
        '<a href="/me/wallet/apple.pkpass" id="wallet-apple">Add to Apple Wallet</a>' in page.content.decode()
    )
    response = client.get("/me/wallet/apple.pkpass")
    assert (response.status_code, response["Content-Type"], response["Cache-Control"]) == (
        200,
        "application/vnd.apple.pkpass",
        "no-store",
    )
    assert response["Content-Disposition"] == 'attachment; filename="test-a-card.pkpass"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        document = json.loads(archive.read("pass.json"))
    assert (document["serialNumber"], document["storeCard"]["headerFields"][0]["value"]) == (
        f"org_test_a.customer-{customer.pk}",
        55,
    )


def test_the_google_button_redirects_to_a_save_link_for_this_customer_and_host(
    organization, programs, google_wallet
):
    customer = create_customer(organization, points=8)
    response = signed_in(organization, customer).get("/me/wallet/google")

    assert (response.status_code, response["Cache-Control"]) == (302, "no-store")
    claims = jwt.decode(
        response["Location"].removeprefix(GOOGLE_SAVE_URL),
        google_wallet.public_key,
        algorithms=["RS256"],
        audience="google",
    )
    assert claims["origins"] == ["http://test-a.localhost"]
    assert claims["payload"]["loyaltyObjects"][0]["accountId"] == str(customer.customer_code)


@pytest.mark.parametrize("url", ["/me/wallet/apple.pkpass", "/me/wallet/google"])
def test_without_a_session_the_customer_is_sent_to_sign_in(
    organization, programs, apple_wallet, google_wallet, url
):
    response = HostClient(organization).get(url)
    assert (response.status_code, response["Location"]) == (302, f"/me/login?next={url.replace('/', '%2F')}")


@pytest.mark.parametrize("url", ["/me/wallet/apple.pkpass", "/me/wallet/google"])
def test_another_organizations_host_never_serves_this_customers_pass(
    organization, other_organization, programs, apple_wallet, google_wallet, url
):
    customer = create_customer(organization, points=99)
    session = signed_in(organization, customer).cookies["sessionid"].value
    other_host = HostClient(other_organization)
    other_host.cookies["sessionid"] = session

    response = other_host.get(url)
    assert (response.status_code, response["Location"]) == (302, f"/me/login?next={url.replace('/', '%2F')}")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_downloads_answer_only_reads(organization, programs, apple_wallet, method):
    client = signed_in(organization, create_customer(organization))
    assert getattr(client, method)("/me/wallet/apple.pkpass").status_code == 405


def test_the_program_logo_google_fetches_is_public_once_configured(organization, google_wallet):
    response = HostClient(organization).get("/wallet/logo.png")
    assert (response.status_code, response["Content-Type"], response.content[:8]) == (
        200,
        "image/png",
        b"\x89PNG\r\n\x1a\n",
    )
    with tenant_context(organization):
        pass
