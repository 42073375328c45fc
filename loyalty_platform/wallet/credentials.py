"""The operator's wallet credentials, read from the files the settings name. None means the
wallet is off: the profile shows no button and its URL answers wallet_not_configured."""

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class AppleWalletCredentials:
    pass_type_id: str
    team_id: str
    certificate: x509.Certificate
    key: PrivateKeyTypes
    wwdr_certificate: x509.Certificate


@dataclass(frozen=True)
class GoogleWalletCredentials:
    issuer_id: str
    service_account_email: str
    private_key_pem: str


# The settings a wallet needs, every one (the key password is optional).
APPLE_SETTINGS = (
    "APPLE_WALLET_PASS_TYPE_ID",
    "APPLE_WALLET_TEAM_ID",
    "APPLE_WALLET_CERTIFICATE_PATH",
    "APPLE_WALLET_KEY_PATH",
    "APPLE_WALLET_WWDR_CERTIFICATE_PATH",
)
GOOGLE_SETTINGS = ("GOOGLE_WALLET_ISSUER_ID", "GOOGLE_WALLET_SERVICE_ACCOUNT_FILE")


def apple_wallet_configured() -> bool:
    return all(getattr(settings, name) for name in APPLE_SETTINGS)


def google_wallet_configured() -> bool:
    return all(getattr(settings, name) for name in GOOGLE_SETTINGS)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"{what} ({path}) cannot be read: {error.strerror}") from error


def _certificate(path: str, what: str) -> x509.Certificate:
    data = _read(path, what)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError as error:
            raise ImproperlyConfigured(f"{what} ({path}) is not a PEM or DER certificate") from error


def apple_wallet_credentials() -> AppleWalletCredentials | None:
    """The pass type certificate, its key and Apple's WWDR certificate; None when the wallet is
    off. ImproperlyConfigured when a named file is unreadable or the key is not the
    certificate's (`manage.py check` reports that before a customer meets it)."""
    if not apple_wallet_configured():
        return None
    certificate = _certificate(settings.APPLE_WALLET_CERTIFICATE_PATH, "APPLE_WALLET_CERTIFICATE_PATH")
    wwdr = _certificate(settings.APPLE_WALLET_WWDR_CERTIFICATE_PATH, "APPLE_WALLET_WWDR_CERTIFICATE_PATH")
    password = settings.APPLE_WALLET_KEY_PASSWORD.encode() or None
    try:
        key_pem = _read(settings.APPLE_WALLET_KEY_PATH, "APPLE_WALLET_KEY_PATH")
        key = serialization.load_pem_private_key(key_pem, password)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "APPLE_WALLET_KEY_PATH is not a PEM private key that APPLE_WALLET_KEY_PASSWORD opens"
        ) from error
    if key.public_key() != certificate.public_key():
        raise ImproperlyConfigured("APPLE_WALLET_KEY_PATH is not the key of APPLE_WALLET_CERTIFICATE_PATH")
    return AppleWalletCredentials(
        pass_type_id=settings.APPLE_WALLET_PASS_TYPE_ID,
        team_id=settings.APPLE_WALLET_TEAM_ID,
        certificate=certificate,
        key=key,
        wwdr_certificate=wwdr,
    )


def google_wallet_credentials() -> GoogleWalletCredentials | None:
    """The issuer id and the service account's email and private key (from its JSON key file,
    as Google's console downloads it); None when the wallet is off."""
    if not google_wallet_configured():
        return None
    path = settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE
    try:
        account = json.loads(_read(path, "GOOGLE_WALLET_SERVICE_ACCOUNT_FILE"))
        email, private_key = account["client_email"], account["private_key"]
    except (ValueError, KeyError, TypeError) as error:
        raise ImproperlyConfigured(
            f"GOOGLE_WALLET_SERVICE_ACCOUNT_FILE ({path}) is not a service account key file "
            "with client_email and private_key"
        ) from error
    return GoogleWalletCredentials(
        issuer_id=settings.GOOGLE_WALLET_ISSUER_ID, service_account_email=email, private_key_pem=private_key
    )
