"""The browser till's two admin views: the page, and the endpoint its script asks for a key.
The key never appears in HTML: the script fetches it as JSON and keeps it in memory."""

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty_platform.realtime.signing import app_key
from loyalty_platform.shops.models import Shop
from loyalty_platform.till.messages import NETWORK_ERROR, UNKNOWN_ERROR, till_messages
from loyalty_platform.till.services import till_key_issue

TILL_PERMISSION = "accounts.use_till"


class TillKeyForm(forms.Form):
    shop = forms.ModelChoiceField(
        queryset=Shop.objects.filter(is_active=True),
        label=_("Shop"),
        help_text=_("The shop this till works at; its sales are recorded for it."),
        empty_label=None,
    )


def _strings() -> dict[str, str]:
    """The script's own words, translated here (the script has no gettext)."""
    return {
        "network": str(NETWORK_ERROR),
        "unknown": str(UNKNOWN_ERROR),
        "retry": gettext("Retry"),
        "opening": gettext("Opening the till…"),
        "ready": gettext("The till is open."),
        "searching": gettext("Looking for the customer…"),
        "points": gettext("Points"),
        "worth": gettext("Worth"),
        "stamps": gettext("Stamps"),
        "tier": gettext("Tier"),
        "none": gettext("None"),
        "blocked": gettext("Blocked: this customer cannot earn or redeem."),
        "active": gettext("Active"),
        "redeem": gettext("Redeem"),
        "earned": gettext("Points added."),
        "stamped": gettext("Stamps added."),
        "campaignPoints": gettext("%(name)s: +%(points)s points."),
        "campaignStamps": gettext("%(name)s: +%(stamps)s stamps."),
        "redeemed": gettext("Points redeemed."),
        "couponRedeemed": gettext("Coupon redeemed."),
        "voucherOk": gettext("Voucher can be used: %(promotion)s, %(uses)s use(s) left."),
        "voucherNo": gettext("Voucher cannot be used now."),
        "voucherRedeemed": gettext("Voucher redeemed."),
        "giftcardPaid": gettext("Paid with the giftcard. Left on the card: %(balance)s."),
        "prepaidPaid": gettext("Paid with prepaid credit. Left: %(balance)s."),
        "remaining": gettext("Still to pay: %(amount)s."),
        "pinAttempts": gettext("%(count)s attempt(s) left."),
        "pinRetryAfter": gettext("Try again in %(seconds)s s."),
        "scanUnavailable": gettext(
            "The camera cannot be used here: it needs a secure (https) connection and permission. "
            "Type the customer's code instead."
        ),
        "scanning": gettext("Hold the customer's QR in front of the camera."),
        "sessionWaiting": gettext("Ask the customer to scan this code with their phone."),
        "sessionExpired": gettext("The code expired. Show a new one."),
        "identified": gettext("Customer identified."),
        "deviceName": gettext("Browser till"),
    }


def till_page(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    if not request.user.has_perm(TILL_PERMISSION):
        raise PermissionDenied
    organization = request.organization
    shops = list(Shop.objects.filter(is_active=True))
    config = {
        "keyUrl": reverse(f"{site.name}:till_key"),
        "realtimeKey": app_key(),
        "pinLength": organization.pin_length,
        "messages": till_messages(),
        "strings": _strings(),
    }
    context = {
        **site.each_context(request),
        "title": _("Till"),
        "form": TillKeyForm(initial={"shop": shops[0].pk} if shops else None),
        "shops": shops,
        "till_config": config,
    }
    return TemplateResponse(request, "till/till.html", context)


def _json(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)  # includes no-store: the key must not land in a cache
    return response


def till_key(request: HttpRequest, *, site: AdminSite) -> JsonResponse:
    """POST with the page's CSRF token and a shop: a fresh key for the signed-in staff member."""
    if not request.user.has_perm(TILL_PERMISSION):
        return _json({"error": "forbidden"}, status=403)
    if request.method != "POST":
        response = _json({"error": "method_not_allowed"}, status=405)
        response["Allow"] = "POST"
        return response
    form = TillKeyForm(request.POST)
    if not form.is_valid():
        code = "shop_required" if "shop" not in request.POST or not request.POST["shop"] else "shop_invalid"
        return _json({"error": code, "field": "shop", "message": form.errors["shop"][0]}, status=422)
    shop = form.cleaned_data["shop"]
    issued = till_key_issue(organization=request.organization, user=request.user, shop=shop)
    return _json(
        {
            "data": {
                "key": issued.secret_key,
                "expires_at": issued.api_key.expires_at.isoformat(),
                "shop": {"id": shop.pk, "name": shop.name},
            }
        }
    )
