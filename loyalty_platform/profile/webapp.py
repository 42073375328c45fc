"""The profile as an installable web app (docs/decisions/0057-installable-profile.md): the
organization's manifest and icons, the service worker that keeps the signed-in customer's
last card for offline use, and the page it shows offline without one."""

import hashlib
import json

from django.core.signing import salted_hmac
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from loyalty_platform.branding.app_icons import ICONS, app_icon_png, app_icon_source, app_icon_url
from loyalty_platform.core.i18n import supported_language
from loyalty_platform.customers.models import Customer

SCOPE = "/me/"
# The response header that names whose data a response is; the service worker files what it
# keeps under it and keeps one customer's at a time.
CACHE_KEY_HEADER = "X-Customer-Cache-Key"
SHORT_NAME_LENGTH = 12


def offline_cache_key(customer: Customer) -> str:
    """An opaque name for this customer of this organization (ids repeat across schemas)."""
    return salted_hmac("profile-offline-copy", f"{connection.schema_name}:{customer.pk}").hexdigest()[:32]


def _short_name(name: str) -> str:
    """The name under the home screen icon: the whole name if short, else its first words
    that fit, else its first letters."""
    if len(name) <= SHORT_NAME_LENGTH:
        return name
    words = ""
    for word in name.split():
        candidate = f"{words} {word}".strip()
        if len(candidate) > SHORT_NAME_LENGTH:
            break
        words = candidate
    return words or name[:SHORT_NAME_LENGTH]


def _conditional(request: HttpRequest, body: bytes, content_type: str, etag: str) -> HttpResponse:
    response = get_conditional_response(request, etag=etag) or HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest of this organization's profile, in the page's language (the
    pages link it with ?lang=, as the browser fetches it without cookies)."""
    asked = request.GET.get("lang")
    language = supported_language(asked[:16]) if asked is not None else request.LANGUAGE_CODE
    if language is None:
        return JsonResponse({"error": "lang_invalid", "field": "lang"}, status=422)
    organization = request.organization
    source = app_icon_source()
    with translation.override(language):
        description = gettext("Your card, points and coupons at %(name)s") % {"name": organization.name}
    icons = [
        {
            "src": app_icon_url(name, source.version),
            "sizes": f"{kind.size}x{kind.size}",
            "type": "image/png",
            "purpose": "maskable" if kind.maskable else "any",
        }
        for name, kind in ICONS.items()
        if kind.size != 180
    ]
    body = json.dumps(
        {
            "id": SCOPE,
            "name": organization.name,
            "short_name": _short_name(organization.name),
            "description": description,
            "lang": language,
            "dir": "ltr",
            "start_url": SCOPE,
            "scope": SCOPE,
            "display": "standalone",
            "theme_color": source.color,
            "background_color": source.color,
            "icons": icons,
        },
        ensure_ascii=False,
        indent=2,
    ).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    response = _conditional(request, body, "application/manifest+json", etag)
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
def icon(request: HttpRequest, name: str) -> HttpResponse:
    kind = ICONS.get(name)
    if kind is None:
        return JsonResponse({"error": "not_found"}, status=404)
    source = app_icon_source()
    etag = f'"{source.version}-{name}"'
    response = _conditional(request, b"", "image/png", etag)
    if response.status_code == 200:
        response.content = app_icon_png(source=source, kind=kind)
    # A URL naming this version never changes content; any other is revalidated soon.
    if request.GET.get("v") == source.version:
        patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    else:
        patch_cache_control(response, public=True, max_age=300)
    return response


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker script, at the top of the profile so that its scope is the profile.
    Always revalidated, so a new version reaches phones on their next visit."""
    response = HttpResponse(
        render_to_string("profile/service-worker.js", {"scope": SCOPE, "key_header": CACHE_KEY_HEADER}),
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = SCOPE
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, no_cache=True, max_age=0)
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """What the service worker shows offline when it keeps no card (signed out, or never
    signed in on this phone)."""
    return render(request, "profile/offline.html", {"customer": None})
