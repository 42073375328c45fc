import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer

E164_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
_CODE_ATTEMPTS = 20


def customer_code_candidate() -> int:
    return 100000 + secrets.randbelow(900000)


def normalize_email(email: object) -> str:
    if email is None or (isinstance(email, str) and not email.strip()):
        raise DomainError("email_required")
    if not isinstance(email, str) or len(email) > 254:
        raise DomainError("invalid_email")
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise DomainError("invalid_email") from error
    return email.lower()


def normalize_phone(phone: str) -> str:
    compact = re.sub(r"[\s().-]", "", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not E164_PATTERN.match(compact):
        raise DomainError("phone_invalid")
    return compact


def customer_enroll(
    *,
    email: object,
    consent_terms: bool,
    consent_privacy: bool,
    consent_marketing: bool = False,
    name: str = "",
    phone: str = "",
) -> tuple[Customer, bool]:
    """Enroll a customer, or return the one already enrolled with this email (any case).
    Returns (customer, is_new). Safe under concurrent calls with the same email."""
    normalized = normalize_email(email)
    existing = Customer.objects.filter(email__iexact=normalized).first()
    if existing is not None:
        return existing, False
    if consent_terms is not True:
        raise DomainError("consent_terms_required")
    if consent_privacy is not True:
        raise DomainError("consent_privacy_required")
    phone = normalize_phone(phone) if phone else ""
    now = timezone.now()
    for _ in range(_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    customer_code=customer_code_candidate(),
                    email=normalized,
                    phone=phone,
                    name=name.strip(),
                    consent_terms_at=now,
                    consent_privacy_at=now,
                    consent_marketing_at=now if consent_marketing else None,
                )
            return customer, True
        except IntegrityError as error:
            if "customer_email_ci_unique" in str(error):
                # Another request enrolled the same email first.
                return Customer.objects.get(email__iexact=normalized), False
            # A customer code collision: draw another.
    raise RuntimeError("could not draw a free customer code")
