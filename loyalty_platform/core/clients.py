"""Who is asking: programs (tills, e-shops, the profile's scripts, load balancers) get JSON
errors, people get pages. One list, so every error path answers alike."""

from django.http import HttpRequest

# Paths whose clients are programs: they get JSON even when they accept HTML.
MACHINE_PATH_PREFIXES = ("/webhook/", "/api/", "/me/api/", "/realtime/", "/healthz", "/ping", "/qr.")


def is_machine_path(request: HttpRequest) -> bool:
    return request.path.startswith(MACHINE_PATH_PREFIXES)


def wants_json(request: HttpRequest) -> bool:
    return is_machine_path(request) or not request.accepts("text/html")
