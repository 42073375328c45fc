"""The Apple Wallet pass: its files, pass.json exactly, the manifest's SHA-1 digests and the
detached CMS signature over manifest.json, checked by openssl against the test root."""

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import pkcs7
from django.core.exceptions import ImproperlyConfigured
from django_tenants.utils import tenant_context
from PIL import Image

from loyalty_platform.branding.models import Logo
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.verification.services import customer_code_from_qr
from loyalty_platform.wallet.checks import wallet_credentials_check
from loyalty_platform.wallet.credentials import apple_wallet_credentials
from loyalty_platform.wallet.services import apple_pass_build
from tests.pos_fixtures import create_customer
from tests.wallet.credentials import PASS_TYPE_ID, TEAM_ID

NOW = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
FILES = {"pass.json", "icon.png", "icon@2x.png", "logo.png", "logo@2x.png", "manifest.json", "signature"}


def build(organization, customer) -> dict[str, bytes]:
    with tenant_context(organization):
        content = apple_pass_build(
            organization=organization, customer=customer, credentials=apple_wallet_credentials(), now=NOW
        )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def openssl_verify(folder, files: dict[str, bytes], root) -> subprocess.CompletedProcess:
    (folder / "manifest.json").write_bytes(files["manifest.json"])
    (folder / "signature").write_bytes(files["signature"])
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any"]
    command += ["-in", str(folder / "signature"), "-content", str(folder / "manifest.json")]
    command += ["-CAfile", str(root), "-out", str(folder / "verified")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_pass_carries_the_member_card_exactly(organization, programs, apple_wallet):
    customer = create_customer(organization, points=120, stamps=3)
    with tenant_context(organization):
        customer.name = "Rūta Žemaitė"
        customer.save(update_fields=["name"])
        base_url = organization_base_url()
    files = build(organization, customer)

    assert set(files) == FILES
    document = json.loads(files["pass.json"])
    barcode_message = document["barcodes"][0]["message"]
    expires = NOW.replace(microsecond=0) + timedelta(days=90)
    assert document == {
        "formatVersion": 1,
        "passTypeIdentifier": PASS_TYPE_ID,
        "teamIdentifier": TEAM_ID,
        "serialNumber": f"org_test_a.customer-{customer.pk}",
        "organizationName": "Test Org A",
        "description": "Test Org A membership card",
        "logoText": "Test Org A",
        "backgroundColor": "rgb(31, 111, 92)",
        "foregroundColor": "rgb(255, 255, 255)",
        "labelColor": "rgb(255, 255, 255)",
        "storeCard": {
            "headerFields": [{"key": "points", "label": "Points", "value": 120}],
            "primaryFields": [{"key": "member", "label": "Member", "value": "Rūta Žemaitė"}],
            "secondaryFields": [{"key": "stamps", "label": "Coffee", "value": "3 of 10"}],
            "auxiliaryFields": [
                {"key": "code", "label": "Member code", "value": str(customer.customer_code)}
            ],
            "backFields": [
                {
                    "key": "as_of",
                    "label": "Balances on",
                    "value": "2026-12-03T09:30:15+00:00",
                    "dateStyle": "PKDateStyleMedium",
                    "timeStyle": "PKDateStyleShort",
                },
                {
                    "key": "renew",
                    "label": "Up to date",
                    "value": f"Add the card again from your profile to see today's balances: {base_url}/me/",
                },
            ],
        },
        "barcodes": [
            {
                "format": "PKBarcodeFormatQR",
                "message": barcode_message,
                "messageEncoding": "iso-8859-1",
                "altText": str(customer.customer_code),
            }
        ],
        "expirationDate": expires.isoformat(),
    }
    # The profile's member QR, signed by this organization, that tills take until it expires.
    assert barcode_message.startswith(f"LPQ1.{customer.customer_code}.{int(expires.timestamp())}.")
    assert (
        customer_code_from_qr(organization=organization, payload=barcode_message, now=NOW)
        == customer.customer_code
    )
    last_second = expires - timedelta(seconds=1)
    assert customer_code_from_qr(organization=organization, payload=barcode_message, now=last_second) == (
        customer.customer_code
    )


def test_the_manifest_names_the_sha1_of_every_other_file(organization, programs, apple_wallet):
    files = build(organization, create_customer(organization, points=5))

    manifest = json.loads(files["manifest.json"])
    assert manifest == {
        name: hashlib.sha1(data, usedforsecurity=False).hexdigest()
        for name, data in files.items()
        if name not in ("manifest.json", "signature")
    }
    sizes = {name: Image.open(io.BytesIO(files[name])).size for name in ("icon.png", "icon@2x.png")}
    assert sizes == {"icon.png": (29, 29), "icon@2x.png": (58, 58)}


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_the_signature_is_a_detached_cms_signature_of_the_manifest_by_the_pass_certificate(
    organization, programs, apple_wallet, tmp_path
):
    files = build(organization, create_customer(organization, points=5))

    verified = openssl_verify(tmp_path, files, apple_wallet.root)
    assert (verified.returncode, verified.stderr.strip()) == (0, "CMS Verification successful")
    assert (tmp_path / "verified").read_bytes() == files["manifest.json"]
    # It carries the signer and Apple's intermediate, and no copy of the manifest (detached).
    assert set(pkcs7.load_der_pkcs7_certificates(files["signature"])) == {
        apple_wallet.signer,
        apple_wallet.wwdr_certificate,
    }
    assert files["manifest.json"] not in files["signature"]
    # A changed manifest fails the check.
    tampered = {**files, "manifest.json": files["manifest.json"].replace(b'"', b"'", 1)}
    assert openssl_verify(tmp_path, tampered, apple_wallet.root).returncode != 0


def test_passes_of_two_organizations_never_share_a_serial(
    organization, other_organization, programs, apple_wallet
):
    first = create_customer(organization)
    second = create_customer(other_organization)
    serials = {
        json.loads(build(organization, first)["pass.json"])["serialNumber"],
        json.loads(build(other_organization, second)["pass.json"])["serialNumber"],
    }
    assert serials == {f"org_test_a.customer-{first.pk}", f"org_test_b.customer-{second.pk}"}


def test_on_strict_the_pass_has_no_qr_since_tills_take_only_the_rotating_one(
    organization, programs, apple_wallet
):
    organization.verification_preset = "strict"
    organization.save(update_fields=["verification_preset"])
    files = build(organization, create_customer(organization, points=7))

    document = json.loads(files["pass.json"])
    assert ("barcodes" in document, "expirationDate" in document) == (False, False)
    assert document["storeCard"]["headerFields"] == [{"key": "points", "label": "Points", "value": 7}]


def test_the_pictures_come_from_the_organization_logo(organization, programs, apple_wallet):
    red = io.BytesIO()
    Image.new("RGBA", (200, 100), (200, 0, 0, 255)).save(red, format="PNG")
    with tenant_context(organization):
        Logo.objects.create(png=red.getvalue(), digest="0" * 16, width=200, height=100)
    files = build(organization, create_customer(organization))

    logo = Image.open(io.BytesIO(files["logo.png"])).convert("RGBA")
    icon = Image.open(io.BytesIO(files["icon.png"])).convert("RGBA")
    assert (logo.size, logo.getpixel((50, 25))) == ((100, 50), (200, 0, 0, 255))
    # The wide logo sits in the middle of the square icon, transparent above and below.
    assert (icon.size, icon.getpixel((14, 14)), icon.getpixel((14, 0))) == (
        (29, 29),
        (200, 0, 0, 255),
        (255, 255, 255, 0),
    )


def test_a_key_that_is_not_the_certificates_is_a_configuration_error(settings, apple_wallet, tmp_path):
    settings.APPLE_WALLET_KEY_PATH = str(tmp_path / "missing.pem")
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        apple_wallet_credentials()
    settings.APPLE_WALLET_KEY_PATH = str(apple_wallet.key)
    settings.APPLE_WALLET_KEY_PASSWORD = "wrong"
    with pytest.raises(ImproperlyConfigured, match="APPLE_WALLET_KEY_PASSWORD"):
        apple_wallet_credentials()


def test_the_system_check_names_a_wallet_left_half_configured_or_unloadable(settings, apple_wallet, tmp_path):
    assert wallet_credentials_check(None) == []
    settings.APPLE_WALLET_KEY_PATH = str(tmp_path / "missing.pem")
    assert [(problem.id, problem.msg.split(" (")[0]) for problem in wallet_credentials_check(None)] == [
        ("wallet.E001", "Apple Wallet: APPLE_WALLET_KEY_PATH")
    ]
    settings.APPLE_WALLET_TEAM_ID = ""
    assert [(problem.id, problem.msg) for problem in wallet_credentials_check(None)] == [
        ("wallet.W001", "Apple Wallet stays off: APPLE_WALLET_TEAM_ID not set")
    ]
