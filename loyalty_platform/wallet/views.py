"""The wallet downloads of the signed-in customer's own card (only theirs: the session names
the customer in this organization's schema), and the program logo Google Wallet fetches."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from loyalty_platform.core import errors
from loyalty_platform.profile.views import customer_required
from loyalty_platform.wallet.credentials import (
    apple_wallet_configured,
    apple_wallet_credentials,
    google_wallet_configured,
    google_wallet_credentials,
)
from loyalty_platform.wallet.images import program_logo_png
from loyalty_platform.wallet.services import apple_pass_build, google_wallet_save_url


def _not_configured() -> JsonResponse:
    error = errors.WALLET_NOT_CONFIGURED
    return JsonResponse({"error": error.code, "message": str(error.message)}, status=error.status)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def apple_pass(request: HttpRequest) -> HttpResponse:
    if not apple_wallet_configured():
        return _not_configured()
    return _apple_pass(request)


@customer_required
def _apple_pass(request: HttpRequest) -> HttpResponse:
    organization = connection.tenant
    content = apple_pass_build(
        organization=organization, customer=request.customer, credentials=apple_wallet_credentials()
    )
    response = HttpResponse(content, content_type="application/vnd.apple.pkpass")
    response["Content-Disposition"] = f'attachment; filename="{organization.slug}-card.pkpass"'
    return _private(response)


@require_safe
def google_save(request: HttpRequest) -> HttpResponse:
    if not google_wallet_configured():
        return _not_configured()
    return _google_save(request)


@customer_required
def _google_save(request: HttpRequest) -> HttpResponse:
    origins = [f"{request.scheme}://{request.get_host()}"]
    url = google_wallet_save_url(
        organization=connection.tenant,
        customer=request.customer,
        credentials=google_wallet_credentials(),
        origins=origins,
    )
    return _private(redirect(url))


@require_safe
def program_logo(request: HttpRequest) -> HttpResponse:
    if not google_wallet_configured():
        return _not_configured()
    organization = connection.tenant
    png = program_logo_png(name=organization.name, brand_color=organization.brand_color)
    response = HttpResponse(png, content_type="image/png")
    patch_cache_control(response, public=True, max_age=3600)
    response["X-Content-Type-Options"] = "nosniff"
    return response
