"""Wallet credentials made in the test: a root standing in for Apple's, a WWDR intermediate it
signs, a pass type certificate the intermediate signs (with its key), and a Google service
account key file. Written under a temporary folder; the settings point at them."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASS_TYPE_ID = "pass.test.loyalty"
TEAM_ID = "TEAMID1234"
ISSUER_ID = "3388000000012345678"
SERVICE_ACCOUNT_EMAIL = "wallet@test-project.iam.gserviceaccount.com"
KEY_PASSWORD = "pass-key-password"


@dataclass(frozen=True)
class AppleFiles:
    root: Path
    wwdr: Path
    certificate: Path
    key: Path
    signer: x509.Certificate
    wwdr_certificate: x509.Certificate

    def settings(self) -> dict[str, str]:
        return {
            "APPLE_WALLET_PASS_TYPE_ID": PASS_TYPE_ID,
            "APPLE_WALLET_TEAM_ID": TEAM_ID,
            "APPLE_WALLET_CERTIFICATE_PATH": str(self.certificate),
            "APPLE_WALLET_KEY_PATH": str(self.key),
            "APPLE_WALLET_KEY_PASSWORD": KEY_PASSWORD,
            "APPLE_WALLET_WWDR_CERTIFICATE_PATH": str(self.wwdr),
        }


@dataclass(frozen=True)
class GoogleFiles:
    service_account: Path
    public_key: rsa.RSAPublicKey

    def settings(self) -> dict[str, str]:
        return {
            "GOOGLE_WALLET_ISSUER_ID": ISSUER_ID,
            "GOOGLE_WALLET_SERVICE_ACCOUNT_FILE": str(self.service_account),
        }


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(
    *, name: str, key, issuer_name: x509.Name | None, issuer_key, ca: bool, extra_usage: bool = False
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if extra_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_apple_files(folder: Path) -> AppleFiles:
    root_key, wwdr_key, pass_key = _key(), _key(), _key()
    root = _certificate(name="Test Root CA", key=root_key, issuer_name=None, issuer_key=root_key, ca=True)
    wwdr = _certificate(
        name="Test WWDR Intermediate", key=wwdr_key, issuer_name=root.subject, issuer_key=root_key, ca=True
    )
    signer = _certificate(
        name=f"Pass Type ID: {PASS_TYPE_ID}",
        key=pass_key,
        issuer_name=wwdr.subject,
        issuer_key=wwdr_key,
        ca=False,
        extra_usage=True,
    )
    files = AppleFiles(
        root=folder / "root.pem",
        wwdr=folder / "wwdr.pem",
        certificate=folder / "pass.pem",
        key=folder / "pass-key.pem",
        signer=signer,
        wwdr_certificate=wwdr,
    )
    files.root.write_bytes(_pem(root))
    files.wwdr.write_bytes(_pem(wwdr))
    files.certificate.write_bytes(_pem(signer))
    files.key.write_bytes(
        pass_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
        )
    )
    return files


def make_google_files(folder: Path) -> GoogleFiles:
    key = _key()
    account = {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": "100000000000000000000",
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(account))
    return GoogleFiles(service_account=path, public_key=key.public_key())
