"""Who is asking: programs (tills, e-shops, the profile's scripts, load balancers) get JSON
errors, people get pages. One list, so every error path answers alike."""

from django.http import HttpRequest, JsonResponse

# The Loyalty.lt-compatible Shop API (loyalty_platform/shop_api), one prefix per language.
SHOP_API_PATH_PREFIXES = ("/lt/shop/", "/en/shop/")
# Paths whose clients are programs: they get JSON even when they accept HTML.
MACHINE_PATH_PREFIXES = (
    "/webhook/",
    *SHOP_API_PATH_PREFIXES,
    "/api/",
    "/me/api/",
    "/realtime/",
    "/healthz",
    "/ping",
    "/qr.",
)
# What the Shop API says, in the path's language, for the refusals made before any view (its
# own view layer words the rest).
SHOP_API_MESSAGES = {
    "en": {
        "service_unavailable": "The service is temporarily unavailable; please retry shortly.",
        "invalid_characters": "The request contains a NUL character.",
        "invalid_request": "The request body cannot be read.",
        "request_too_large": "The request body is too large.",
    },
    "lt": {
        "service_unavailable": "Paslauga laikinai nepasiekiama; bandykite po kelių sekundžių.",
        "invalid_characters": "Užklausoje yra neleistinų simbolių.",
        "invalid_request": "Užklausos turinio nepavyko perskaityti.",
        "request_too_large": "Užklausos turinys per didelis.",
    },
}


def is_machine_path(request: HttpRequest) -> bool:
    return request.path.startswith(MACHINE_PATH_PREFIXES)


def wants_json(request: HttpRequest) -> bool:
    return is_machine_path(request) or not request.accepts("text/html")


def is_shop_api_path(request: HttpRequest) -> bool:
    return request.path.startswith(SHOP_API_PATH_PREFIXES)


def machine_error_response(request: HttpRequest, code: str, status: int) -> JsonResponse:
    """A refusal as a program reads it: `{"error": code}`, or the Shop API's envelope
    (`{"success": false, "message", "code"}`) on its paths."""
    if is_shop_api_path(request):
        messages = SHOP_API_MESSAGES["lt" if request.path.startswith("/lt/") else "en"]
        body = {"success": False, "message": messages.get(code, code), "code": code.upper()}
    else:
        body = {"error": code}
    return JsonResponse(body, status=status)
