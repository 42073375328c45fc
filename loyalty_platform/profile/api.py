"""The profile's JSON API under /me/api/ (the customer's session)."""

from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from loyalty_platform.customers.session import current_customer
from loyalty_platform.profile.selectors import (
    cards_payload,
    coupons_payload,
    history_payload,
    prepaid_payload,
    profile_payload,
    qr_payload,
    rewards_payload,
)
from loyalty_platform.profile.webapp import CACHE_KEY_HEADER, offline_cache_key
from loyalty_platform.tiers.services import customer_tier_progress
from loyalty_platform.verification.services import open_pins_for_customer


def session_customer_api(view):
    @wraps(view)
    @require_safe
    def wrapper(request: HttpRequest):
        customer = current_customer(request)
        if customer is None:
            return JsonResponse({"error": "not_signed_in"}, status=401)
        response = JsonResponse({"data": view(customer)})
        response["Cache-Control"] = "no-store"
        response[CACHE_KEY_HEADER] = offline_cache_key(customer)
        return response

    return wrapper


@session_customer_api
def profile(customer):
    return profile_payload(customer)


@session_customer_api
def cards(customer):
    return {
        "cards": cards_payload(customer),
        "coupons": coupons_payload(customer),
        "prepaid": prepaid_payload(customer),
        "tier": customer_tier_progress(customer),
    }


@session_customer_api
def qr(customer):
    return qr_payload(customer)


@session_customer_api
def pins(customer):
    return open_pins_for_customer(customer=customer)


@session_customer_api
def history(customer):
    return history_payload(customer)


@session_customer_api
def rewards(customer):
    return rewards_payload(customer)
