"""What goes into the customer's wallet: the Apple Wallet pass (a signed .pkpass zip) and the
Google Wallet save link (a signed JWT). Both read the same member card: the organization, the
customer, their balances and the member QR that every till accepts. Nothing here writes."""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.profile.selectors import cards_payload
from loyalty_platform.programs.models import Program
from loyalty_platform.verification.services import customer_qr_payload
from loyalty_platform.wallet.credentials import AppleWalletCredentials, GoogleWalletCredentials
from loyalty_platform.wallet.images import apple_pass_images
from tenants.branding import safe_brand_color, text_color_on
from tenants.models import Organization

GOOGLE_SAVE_URL = "https://pay.google.com/gp/v/save/"
PASS_SIGNATURE_OPTIONS = [
    pkcs7.PKCS7Options.DetachedSignature,
    pkcs7.PKCS7Options.Binary,
    pkcs7.PKCS7Options.NoCapabilities,
]


@dataclass(frozen=True)
class MemberCard:
    """The customer's card as a wallet shows it, at one moment."""

    organization_name: str
    brand_color: str
    member_name: str
    customer_code: int
    points: int | None  # None without an active point program
    point_program: str
    stamps: int | None  # None without an active stamp program
    stamps_per_card: int
    stamp_program: str
    qr_payload: str | None  # None on Strict, where only the profile's rotating QR identifies
    qr_expires_at: datetime | None
    profile_url: str
    as_of: datetime


def wallet_serial(*, organization: Organization, customer: Customer) -> str:
    """The pass's serial number and the Google object's id suffix: customer ids repeat across
    organizations, so the schema comes first."""
    return f"{organization.schema_name}.customer-{customer.pk}"


def member_card(*, organization: Organization, customer: Customer, now: datetime | None = None) -> MemberCard:
    now = now or timezone.now()
    cards = {card["kind"]: card for card in cards_payload(customer)}
    point_card, stamp_card = cards.get(Program.Kind.POINT), cards.get(Program.Kind.STAMP)
    qr_payload, qr_expires_at = None, None
    if organization.verification_preset != Organization.VerificationPreset.STRICT:
        qr = customer_qr_payload(
            organization=organization,
            customer=customer,
            now=now,
            lifetime=timedelta(days=settings.WALLET_QR_DAYS),
        )
        qr_payload = qr.payload
        # The payload names whole seconds; the pass expires when the tills stop taking it.
        qr_expires_at = datetime.fromtimestamp(int(qr.expires_at.timestamp()), tz=UTC)
    return MemberCard(
        organization_name=organization.name,
        brand_color=safe_brand_color(organization.brand_color),
        member_name=customer.name or str(customer.customer_code),
        customer_code=customer.customer_code,
        points=point_card["balance"] if point_card else None,
        point_program=point_card["program"] if point_card else "",
        stamps=stamp_card["balance"] if stamp_card else None,
        stamps_per_card=stamp_card["stamps_per_card"] if stamp_card else 0,
        stamp_program=stamp_card["program"] if stamp_card else "",
        qr_payload=qr_payload,
        qr_expires_at=qr_expires_at,
        profile_url=f"{organization_base_url()}/me/",
        as_of=now.astimezone(UTC).replace(microsecond=0),
    )


def _rgb(color: str) -> str:
    return "rgb({}, {}, {})".format(*(int(color[i : i + 2], 16) for i in (1, 3, 5)))


def _stamps_text(card: MemberCard) -> str:
    return gettext("%(stamps)s of %(per_card)s") % {"stamps": card.stamps, "per_card": card.stamps_per_card}


def apple_pass_json(*, card: MemberCard, credentials: AppleWalletCredentials, serial: str) -> dict:
    """pass.json of a store card (Apple's PassKit format), labels in the active language."""
    header, secondary = [], []
    if card.points is not None:
        header.append({"key": "points", "label": gettext("Points"), "value": card.points})
    if card.stamps is not None:
        secondary.append({"key": "stamps", "label": card.stamp_program, "value": _stamps_text(card)})
    back = [
        {
            "key": "as_of",
            "label": gettext("Balances on"),
            "value": card.as_of.isoformat(),
            "dateStyle": "PKDateStyleMedium",
            "timeStyle": "PKDateStyleShort",
        },
        {
            "key": "renew",
            "label": gettext("Up to date"),
            "value": gettext("Add the card again from your profile to see today's balances: %(url)s")
            % {"url": card.profile_url},
        },
    ]
    document = {
        "formatVersion": 1,
        "passTypeIdentifier": credentials.pass_type_id,
        "teamIdentifier": credentials.team_id,
        "serialNumber": serial,
        "organizationName": card.organization_name,
        "description": gettext("%(organization)s membership card") % {"organization": card.organization_name},
        "logoText": card.organization_name,
        "backgroundColor": _rgb(card.brand_color),
        "foregroundColor": _rgb(text_color_on(card.brand_color)),
        "labelColor": _rgb(text_color_on(card.brand_color)),
        "storeCard": {
            "headerFields": header,
            "primaryFields": [{"key": "member", "label": gettext("Member"), "value": card.member_name}],
            "secondaryFields": secondary,
            "auxiliaryFields": [
                {"key": "code", "label": gettext("Member code"), "value": str(card.customer_code)}
            ],
            "backFields": back,
        },
    }
    if card.qr_payload is not None:
        document["barcodes"] = [
            {
                "format": "PKBarcodeFormatQR",
                "message": card.qr_payload,
                "messageEncoding": "iso-8859-1",
                "altText": str(card.customer_code),
            }
        ]
        document["expirationDate"] = card.qr_expires_at.isoformat()
    return document


def pass_manifest(files: dict[str, bytes]) -> bytes:
    """manifest.json: the SHA-1 hex digest of every file of the pass, as Apple specifies."""
    # SHA-1 is the format's, not a choice: the signature over the manifest uses SHA-256.
    digests = {name: hashlib.sha1(data, usedforsecurity=False).hexdigest() for name, data in files.items()}
    return json.dumps(dict(sorted(digests.items()))).encode()


def pass_signature(*, manifest: bytes, credentials: AppleWalletCredentials) -> bytes:
    """The detached PKCS #7 (CMS) signature of manifest.json (DER), by the pass type
    certificate, carrying Apple's WWDR intermediate so Wallet can build the chain."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(credentials.certificate, credentials.key, hashes.SHA256())
        .add_certificate(credentials.wwdr_certificate)
        .sign(serialization.Encoding.DER, PASS_SIGNATURE_OPTIONS)
    )


def apple_pass_build(
    *,
    organization: Organization,
    customer: Customer,
    credentials: AppleWalletCredentials,
    now: datetime | None = None,
) -> bytes:
    """The customer's .pkpass: pass.json, the pictures, manifest.json and signature."""
    card = member_card(organization=organization, customer=customer, now=now)
    serial = wallet_serial(organization=organization, customer=customer)
    document = apple_pass_json(card=card, credentials=credentials, serial=serial)
    files = {"pass.json": json.dumps(document, ensure_ascii=False).encode()}
    files.update(apple_pass_images(name=organization.name, brand_color=card.brand_color))
    manifest = pass_manifest(files)
    files["manifest.json"] = manifest
    files["signature"] = pass_signature(manifest=manifest, credentials=credentials)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def google_wallet_ids(*, organization: Organization, customer: Customer, issuer_id: str) -> tuple[str, str]:
    """The loyalty class id (one per organization) and object id (one per customer)."""
    return (
        f"{issuer_id}.{organization.schema_name}.membership",
        f"{issuer_id}.{wallet_serial(organization=organization, customer=customer)}",
    )


def google_wallet_claims(
    *,
    organization: Organization,
    customer: Customer,
    credentials: GoogleWalletCredentials,
    origins: list[str],
    now: datetime | None = None,
) -> dict:
    """The claims of the save link's JWT: the loyalty class and object travel inside it, so
    saving needs no earlier call to Google's API."""
    card = member_card(organization=organization, customer=customer, now=now)
    class_id, object_id = google_wallet_ids(
        organization=organization, customer=customer, issuer_id=credentials.issuer_id
    )
    # Google takes BCP 47 tags ("en-US"); Django's are lower-case ("en-us").
    language = translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE).replace("_", "-")
    loyalty_class = {
        "id": class_id,
        "issuerName": card.organization_name,
        "programName": card.point_program or card.stamp_program or card.organization_name,
        "programLogo": {
            "sourceUri": {"uri": f"{organization_base_url()}/wallet/logo.png"},
            "contentDescription": {
                "defaultValue": {"language": language, "value": card.organization_name},
            },
        },
        "hexBackgroundColor": card.brand_color,
        "reviewStatus": "UNDER_REVIEW",
    }
    loyalty_object = {
        "id": object_id,
        "classId": class_id,
        "state": "ACTIVE",
        "accountId": str(card.customer_code),
        "accountName": card.member_name,
    }
    if card.points is not None:
        loyalty_object["loyaltyPoints"] = {"label": gettext("Points"), "balance": {"int": card.points}}
    if card.stamps is not None:
        loyalty_object["secondaryLoyaltyPoints"] = {
            "label": card.stamp_program,
            "balance": {"string": _stamps_text(card)},
        }
    if card.qr_payload is not None:
        loyalty_object["barcode"] = {
            "type": "QR_CODE",
            "value": card.qr_payload,
            "alternateText": str(card.customer_code),
        }
        loyalty_object["validTimeInterval"] = {"end": {"date": card.qr_expires_at.isoformat()}}
    return {
        "iss": credentials.service_account_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(card.as_of.timestamp()),
        "origins": origins,
        "payload": {"loyaltyClasses": [loyalty_class], "loyaltyObjects": [loyalty_object]},
    }


def google_wallet_save_url(
    *,
    organization: Organization,
    customer: Customer,
    credentials: GoogleWalletCredentials,
    origins: list[str],
    now: datetime | None = None,
) -> str:
    """https://pay.google.com/gp/v/save/<JWT>, the JWT signed (RS256) by the service account."""
    claims = google_wallet_claims(
        organization=organization, customer=customer, credentials=credentials, origins=origins, now=now
    )
    return GOOGLE_SAVE_URL + jwt.encode(claims, credentials.private_key_pem, algorithm="RS256")
