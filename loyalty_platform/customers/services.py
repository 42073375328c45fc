import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_platform.core import errors
from loyalty_platform.customers.models import Customer

E164_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
_CODE_ATTEMPTS = 20


def customer_code_candidate() -> int:
    return 100000 + secrets.randbelow(900000)


def normalize_email(email: object) -> str:
    if email is None or (isinstance(email, str) and not email.strip()):
        raise errors.EMAIL_REQUIRED()
    if not isinstance(email, str) or len(email) > 254:
        raise errors.INVALID_EMAIL()
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise errors.INVALID_EMAIL() from error
    return email.lower()


def normalize_phone(phone: str) -> str:
    compact = re.sub(r"[\s().-]", "", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not E164_PATTERN.match(compact):
        raise errors.PHONE_INVALID()
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
        raise errors.CONSENT_TERMS_REQUIRED()
    if consent_privacy is not True:
        raise errors.CONSENT_PRIVACY_REQUIRED()
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
        except IntegrityError:
            # Another request enrolled the same email first, or the code was taken: the table
            # tells which, not the constraint's name.
            existing = Customer.objects.filter(email__iexact=normalized).first()
            if existing is not None:
                return existing, False
    raise RuntimeError("could not draw a free customer code")


def customer_export(*, customer: Customer) -> dict:
    """Everything held about the customer, for their own download."""
    from loyalty_platform.coupons.models import Coupon
    from loyalty_platform.programs.models import Card
    from loyalty_platform.stored_value.models import PrepaidAccount

    def when(value):
        return value.isoformat() if value else None

    cards = []
    for card in Card.objects.filter(customer=customer).select_related("program"):
        cards.append(
            {
                "program": card.program.name,
                "kind": card.program.kind,
                "card_number": card.card_number,
                "balance": card.balance,
                "entries": [
                    {
                        "at": when(e.created_at),
                        "cause": e.cause,
                        "delta": e.delta,
                        "balance_after": e.balance_after,
                    }
                    for e in card.entries.order_by("pk")
                ],
            }
        )
    prepaid = PrepaidAccount.objects.filter(customer=customer).first()
    return {
        "customer": {
            "customer_code": customer.customer_code,
            "email": customer.email,
            "name": customer.name,
            "phone": customer.phone,
            "status": customer.status,
            "created_at": when(customer.created_at),
        },
        "consents": {
            "terms_at": when(customer.consent_terms_at),
            "privacy_at": when(customer.consent_privacy_at),
            "marketing_at": when(customer.consent_marketing_at),
        },
        "cards": cards,
        "coupons": [
            {
                "name": c.name,
                "status": c.status,
                "issued_at": when(c.issued_at),
                "redeemed_at": when(c.redeemed_at),
            }
            for c in Coupon.objects.filter(customer=customer).order_by("issued_at")
        ],
        "prepaid": None
        if prepaid is None
        else {
            "balance": str(prepaid.balance),
            "currency": prepaid.currency,
            "entries": [
                {
                    "at": when(e.created_at),
                    "cause": e.cause,
                    "amount": str(e.amount),
                    "balance_after": str(e.balance_after),
                }
                for e in prepaid.entries.order_by("created_at")
            ],
        },
    }


def customer_erase(*, customer: Customer) -> Customer:
    """Delete the account: personal data is erased; the customer row stays, anonymized, so
    ledgers and balances keep adding up. Open coupons are voided, login links dropped."""
    from loyalty_platform.coupons.models import Coupon

    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            email=f"deleted-{customer.pk}@deleted.invalid",
            name="",
            phone="",
            status=Customer.Status.DELETED,
            consent_marketing_at=None,
        )
        Coupon.objects.filter(customer=customer, status=Coupon.Status.ACTIVE).update(
            status=Coupon.Status.VOID
        )
        customer.login_links.all().delete()
    customer.refresh_from_db()
    return customer
