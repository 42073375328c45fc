"""The middleware only pages for people need (sessions, CSRF, the signed-in user, messages),
run around the rest of the chain except on the POS API: a till sends an API key, never a
cookie, and every POS call paid for building a session, a user and a message store it could
not use."""

from django.conf import settings
from django.core import checks
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest
from django.utils.module_loading import import_string

from loyalty_platform.core.clients import SHOP_API_PATH_PREFIXES

MACHINE_PATH_PREFIXES = ("/webhook/", *SHOP_API_PATH_PREFIXES)
REQUIRED_PAGE_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)
# Django's own checks look for these in MIDDLEWARE (settings.PAGE_MIDDLEWARE_CHECKS silences
# them); page_middleware_check looks where they are.


def is_machine_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(MACHINE_PATH_PREFIXES)


class PageMiddleware:
    """settings.PAGE_MIDDLEWARE, in its order, as if listed in MIDDLEWARE at this place, for
    every path but the POS API's. Their view, exception and template-response hooks run
    here for the same paths (Django's handler calls this class's ones)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.middleware = []
        handler = get_response
        for path in reversed(settings.PAGE_MIDDLEWARE):
            instance = import_string(path)(handler)
            self.middleware.insert(0, instance)
            handler = convert_exception_to_response(instance)
        self.page_chain = handler

    def __call__(self, request: HttpRequest):
        if is_machine_path(request):
            return self.get_response(request)
        return self.page_chain(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_machine_path(request):
            return None
        return _first_answer("process_view", self.middleware, request, view_func, view_args, view_kwargs)

    def process_exception(self, request, exception):
        if is_machine_path(request):
            return None
        return _first_answer("process_exception", reversed(self.middleware), request, exception)

    def process_template_response(self, request, response):
        if is_machine_path(request):
            return response
        for instance in reversed(self.middleware):
            if hasattr(instance, "process_template_response"):
                response = instance.process_template_response(request, response)
        return response


def _first_answer(hook: str, instances, *args):
    """The first response a middleware's hook gives, calling them in the order given (as
    Django's handler does for the hooks of MIDDLEWARE)."""
    for instance in instances:
        method = getattr(instance, hook, None)
        if method is not None and (response := method(*args)) is not None:
            return response
    return None


@checks.register(checks.Tags.security)
def page_middleware_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    problems = []
    if f"{__name__}.PageMiddleware" not in settings.MIDDLEWARE:
        problems.append(checks.Error(f"{__name__}.PageMiddleware is not in MIDDLEWARE", id="core.E001"))
    problems += [
        checks.Error(f"{path} is not in PAGE_MIDDLEWARE, where the pages need it", id="core.E002")
        for path in REQUIRED_PAGE_MIDDLEWARE
        if path not in settings.PAGE_MIDDLEWARE
    ]
    return problems


@checks.register(checks.Tags.security, deploy=True)
def page_cookies_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Django's deploy checks of the session and CSRF cookies (security.W010-W016) look for
    their middleware in MIDDLEWARE and stay silent when it runs from PAGE_MIDDLEWARE."""
    problems = []
    if not settings.SESSION_COOKIE_SECURE:
        problems.append(checks.Warning("SESSION_COOKIE_SECURE is not True", id="core.W001"))
    if not settings.SESSION_COOKIE_HTTPONLY:
        problems.append(checks.Warning("SESSION_COOKIE_HTTPONLY is not True", id="core.W002"))
    if not settings.CSRF_USE_SESSIONS and not settings.CSRF_COOKIE_SECURE:
        problems.append(checks.Warning("CSRF_COOKIE_SECURE is not True", id="core.W003"))
    return problems
