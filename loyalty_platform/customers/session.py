"""A customer's web session on the organization's host (separate from staff logins)."""

from django.http import HttpRequest

from loyalty_platform.core.i18n import SESSION_LANGUAGE_KEY
from loyalty_platform.customers.models import Customer

SESSION_KEY = "customer_id"


def current_customer(request: HttpRequest) -> Customer | None:
    if getattr(request, "organization", None) is None:
        return None
    customer_id = request.session.get(SESSION_KEY)
    if customer_id is None:
        return None
    return Customer.objects.filter(pk=customer_id, status=Customer.Status.ACTIVE).first()


def customer_session_start(request: HttpRequest, customer: Customer) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = customer.pk
    if customer.language:
        # The page language follows it from the next request on (core.i18n).
        request.session[SESSION_LANGUAGE_KEY] = customer.language


def customer_session_end(request: HttpRequest) -> None:
    request.session.flush()
