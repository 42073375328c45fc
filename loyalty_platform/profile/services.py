"""Changes customers make to their own account on the profile."""

from django.db import transaction
from django.utils import timezone

from loyalty_platform.audit.services import audit_record
from loyalty_platform.core import errors
from loyalty_platform.core.i18n import SUPPORTED
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_updated_record, normalize_birth_date

NAME_MAX_LENGTH = 150


def customer_expiry_warnings_set(*, customer: Customer, enabled: bool) -> Customer:
    """The customer turns the emails sent before their points expire on or off. An account
    notice, not a marketing consent: no consent timestamp, and marketing is untouched."""
    Customer.objects.filter(pk=customer.pk).update(points_expiry_warnings=enabled, updated_at=timezone.now())
    customer.points_expiry_warnings = enabled
    return customer


def customer_details_set(
    *, customer: Customer, name: object, birth_date: object, language: object
) -> Customer:
    """The customer's own name, birth date ("" or None: none) and language ("": their
    browser's) from the "My details" page, all or nothing: name_invalid, birth_date_invalid,
    language_invalid and customer_erased change nothing. The changed fields are audited (no
    actor: the customer) and told in customer.updated, except the language, a preference of
    the pages (customer_language_set)."""
    if not isinstance(name, str) or len(name.strip()) > NAME_MAX_LENGTH:
        raise errors.NAME_INVALID(field="name")
    if language not in SUPPORTED and language != "":
        raise errors.LANGUAGE_INVALID(field="language")
    values = {"name": name.strip(), "birth_date": normalize_birth_date(birth_date), "language": language}
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.status == Customer.Status.DELETED:
            raise errors.CUSTOMER_ERASED()
        changes = {
            field: [_text(getattr(locked, field)), _text(value)]
            for field, value in values.items()
            if getattr(locked, field) != value
        }
        if changes:
            for field in changes:
                setattr(locked, field, values[field])
                setattr(customer, field, values[field])
            locked.save(update_fields=[*changes, "updated_at"])
            audit_record(
                actor=None, action="customers.self_update", target=locked, details={"changes": changes}
            )
            if told := [field for field in changes if field != "language"]:
                customer_updated_record(locked, changed=told)
    return customer


def _text(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value
