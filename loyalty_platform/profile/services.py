"""Changes customers make to their own account on the profile."""

from django.utils import timezone

from loyalty_platform.customers.models import Customer


def customer_expiry_warnings_set(*, customer: Customer, enabled: bool) -> Customer:
    """The customer turns the emails sent before their points expire on or off. An account
    notice, not a marketing consent: no consent timestamp, and marketing is untouched."""
    Customer.objects.filter(pk=customer.pk).update(points_expiry_warnings=enabled, updated_at=timezone.now())
    customer.points_expiry_warnings = enabled
    return customer
