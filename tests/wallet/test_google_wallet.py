"""The Google Wallet save link: a JWT signed RS256 by the service account, verified here with
its public key, carrying the loyalty class and object exactly."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django_tenants.utils import tenant_context

from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.verification.services import customer_code_from_qr
from loyalty_platform.wallet.credentials import google_wallet_credentials
from loyalty_platform.wallet.services import GOOGLE_SAVE_URL, google_wallet_save_url
from tests.pos_fixtures import create_customer
from tests.wallet.credentials import ISSUER_ID, SERVICE_ACCOUNT_EMAIL

NOW = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
ORIGIN = "https://test-a.example.com"


@pytest.fixture(autouse=True)
def _at_now():
    """PyJWT checks `iat` against the clock: the links are made and read at NOW."""
    with time_machine.travel(NOW, tick=False):
        yield


def save_url(organization, customer) -> str:
    with tenant_context(organization):
        return google_wallet_save_url(
            organization=organization,
            customer=customer,
            credentials=google_wallet_credentials(),
            origins=[ORIGIN],
            now=NOW,
        )


def claims_of(url: str, google) -> dict:
    assert url.startswith(GOOGLE_SAVE_URL)
    token = url.removeprefix(GOOGLE_SAVE_URL)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    return jwt.decode(token, google.public_key, algorithms=["RS256"], audience="google")


def test_the_save_link_is_signed_by_the_service_account_and_carries_class_and_object(
    organization, programs, google_wallet
):
    customer = create_customer(organization, points=340, stamps=4)
    with tenant_context(organization):
        customer.name = "Ingrid Haugen"
        customer.save(update_fields=["name"])
        base_url = organization_base_url()
    claims = claims_of(save_url(organization, customer), google_wallet)

    qr = claims["payload"]["loyaltyObjects"][0]["barcode"]["value"]
    expires = NOW.replace(microsecond=0) + timedelta(days=90)
    class_id = f"{ISSUER_ID}.org_test_a.membership"
    assert claims == {
        "iss": SERVICE_ACCOUNT_EMAIL,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(NOW.timestamp()),
        "origins": [ORIGIN],
        "payload": {
            "loyaltyClasses": [
                {
                    "id": class_id,
                    "issuerName": "Test Org A",
                    "programName": "Points",
                    "programLogo": {
                        "sourceUri": {"uri": f"{base_url}/wallet/logo.png"},
                        "contentDescription": {"defaultValue": {"language": "en", "value": "Test Org A"}},
                    },
                    "hexBackgroundColor": "#1f6f5c",
                    "reviewStatus": "UNDER_REVIEW",
                }
            ],
            "loyaltyObjects": [
                {
                    "id": f"{ISSUER_ID}.org_test_a.customer-{customer.pk}",
                    "classId": class_id,
                    "state": "ACTIVE",
                    "accountId": str(customer.customer_code),
                    "accountName": "Ingrid Haugen",
                    "loyaltyPoints": {"label": "Points", "balance": {"int": 340}},
                    "secondaryLoyaltyPoints": {"label": "Coffee", "balance": {"string": "4 of 10"}},
                    "barcode": {"type": "QR_CODE", "value": qr, "alternateText": str(customer.customer_code)},
                    "validTimeInterval": {"end": {"date": expires.isoformat()}},
                }
            ],
        },
    }
    assert customer_code_from_qr(organization=organization, payload=qr, now=NOW) == customer.customer_code


def test_a_link_signed_by_another_key_does_not_verify(organization, programs, google_wallet, wallet_files):
    apple, _ = wallet_files
    url = save_url(organization, create_customer(organization))
    other_key = apple.signer.public_key()  # an RSA key, but not the service account's
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(url.removeprefix(GOOGLE_SAVE_URL), other_key, algorithms=["RS256"], audience="google")


def test_objects_of_two_organizations_never_share_an_id(
    organization, other_organization, programs, google_wallet
):
    first, second = create_customer(organization), create_customer(other_organization)
    ids = {
        claims_of(save_url(org, customer), google_wallet)["payload"]["loyaltyObjects"][0]["id"]
        for org, customer in ((organization, first), (other_organization, second))
    }
    assert ids == {
        f"{ISSUER_ID}.org_test_a.customer-{first.pk}",
        f"{ISSUER_ID}.org_test_b.customer-{second.pk}",
    }


def test_a_key_file_without_the_service_accounts_fields_is_a_configuration_error(
    settings, google_wallet, tmp_path
):
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account"}')
    settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = str(broken)
    with pytest.raises(ImproperlyConfigured, match="client_email and private_key"):
        google_wallet_credentials()
