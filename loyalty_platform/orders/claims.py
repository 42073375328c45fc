"""Receipt claims: a signed, expiring URL printed as a QR on a receipt whose order had no
customer. The POS may build it without calling the API (recipe in docs/receipt-claims.md):

    key       = the organization's receipt claim key (hex text, shown in the merchant admin)
    message   = f"{external_id}:{expires}"     expires: Unix time in seconds
    signature = first 32 hex digits of HMAC-SHA256(key as ASCII bytes, message as UTF-8)
    url       = https://<organization host>/claim?o=<external_id>&e=<expires>&s=<signature>
"""

import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlencode

from django.utils import timezone

from loyalty_platform.core import errors
from loyalty_platform.core.text import ascii_digits
from tenants.models import Organization

SIGNATURE_LENGTH = 32


def receipt_claim_key(organization: Organization) -> str:
    # Derived from the organization's signing secret, so handing it to POS vendors does not
    # reveal the secret that signs customer QR codes.
    return hmac.new(organization.signing_secret.encode(), b"receipt-claim", hashlib.sha256).hexdigest()


def receipt_claim_signature(*, key: str, external_id: str, expires: int) -> str:
    message = f"{external_id}:{expires}".encode()
    return hmac.new(key.encode("ascii"), message, hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]


def receipt_claim_url(
    *, organization: Organization, base_url: str, external_id: str, expires_at: datetime
) -> str:
    expires = int(expires_at.timestamp())
    signature = receipt_claim_signature(
        key=receipt_claim_key(organization), external_id=external_id, expires=expires
    )
    return f"{base_url}/claim?" + urlencode({"o": external_id, "e": expires, "s": signature})


def receipt_claim_verify(
    *, organization: Organization, external_id: str, expires: str, signature: str
) -> None:
    """Raises claim_invalid for a forged or damaged link and claim_expired after its time."""
    well_formed = ascii_digits(expires) and len(expires) <= 12 and len(signature) == SIGNATURE_LENGTH
    if not (external_id and well_formed):
        raise errors.CLAIM_INVALID()
    expected = receipt_claim_signature(
        key=receipt_claim_key(organization), external_id=external_id, expires=int(expires)
    )
    if not hmac.compare_digest(expected, signature.lower()):
        raise errors.CLAIM_INVALID()
    if int(expires) <= timezone.now().timestamp():
        raise errors.CLAIM_EXPIRED()
