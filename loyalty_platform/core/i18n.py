"""The language of people's pages: the customer's own choice, else the browser's, else the
organization's (Organization.language), else English.

Django's LocaleMiddleware would fall back to LANGUAGE_CODE when the browser asks for none of
ours; an organization in Vilnius wants Lithuanian then, so the choice is made here."""

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import trans_real

# Where a signed-in customer's choice (Customer.language) is kept for their session.
SESSION_LANGUAGE_KEY = "language"
SUPPORTED = {code for code, _ in settings.LANGUAGES}


def supported_language(code: str | None) -> str | None:
    """`code` as one of LANGUAGES ("nb-NO" -> "nb", "no" -> "nb"), or None."""
    if not code:
        return None
    code = settings.LANGUAGE_ALIASES.get(code.lower(), code)
    try:
        found = trans_real.get_supported_language_variant(code)
    except LookupError:
        return None
    return found if found in SUPPORTED else None


def browser_language(request: HttpRequest) -> str | None:
    header = request.headers.get("Accept-Language", "")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        if code == "*":
            break
        if found := supported_language(code):
            return found
    return None


def _session_language(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    try:
        return session.get(SESSION_LANGUAGE_KEY)
    except DatabaseError:
        # Sessions live in the database: while it is out of reach the view answers the
        # outage (a 503); the page's language falls back to what needs no database.
        return None


def page_language(request: HttpRequest) -> str:
    organization = getattr(request, "organization", None)
    return (
        supported_language(_session_language(request))
        or supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        or browser_language(request)
        or supported_language(getattr(organization, "language", None))
        or settings.LANGUAGE_CODE
    )


class LanguageMiddleware:
    """Activates page_language for the request (after the session middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = page_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response
