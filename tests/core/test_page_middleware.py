"""Sessions, CSRF, the signed-in user and messages run for people's pages and not for the
POS API (loyalty_platform.core.page_middleware)."""

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from loyalty_platform.core.page_middleware import PageMiddleware, page_cookies_check, page_middleware_check

PAGE_ATTRIBUTES = ("session", "user", "_messages")


def _attributes_seen(path: str) -> list[str]:
    seen: list[str] = []

    def view(request):
        seen.extend(name for name in PAGE_ATTRIBUTES if hasattr(request, name))
        return HttpResponse()

    PageMiddleware(view)(RequestFactory().get(path))
    return seen


@pytest.mark.parametrize("path", ["/webhook/pos", "/webhook/customer", "/webhook/unknown"])
def test_the_pos_api_gets_no_session_user_or_messages(path):
    assert _attributes_seen(path) == []


@pytest.mark.parametrize("path", ["/me/", "/admin/login/", "/", "/webhook", "/api/docs/"])
def test_pages_get_all_of_them(path):
    assert _attributes_seen(path) == list(PAGE_ATTRIBUTES)


def test_a_page_form_without_its_csrf_token_is_refused(organization):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/me/login", {"email": "someone@example.com"}, HTTP_HOST="test-a.localhost")

    assert response.status_code == 403


def test_a_page_form_with_its_csrf_token_is_accepted(organization):
    client = Client(enforce_csrf_checks=True)
    client.get("/me/login", HTTP_HOST="test-a.localhost")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/me/login",
        {"email": "someone@example.com", "csrfmiddlewaretoken": token},
        HTTP_HOST="test-a.localhost",
    )

    assert response.status_code == 200
    assert b"Check your email" in response.content


def test_the_system_check_finds_page_middleware_missing():
    without_csrf = [path for path in settings.PAGE_MIDDLEWARE if "csrf" not in path]

    with override_settings(PAGE_MIDDLEWARE=without_csrf):
        problems = page_middleware_check(None)

    assert [(problem.id, problem.msg.split()[0]) for problem in problems] == [
        ("core.E002", "django.middleware.csrf.CsrfViewMiddleware")
    ]
    assert page_middleware_check(None) == []


def test_the_deploy_check_warns_of_insecure_page_cookies():
    with override_settings(
        SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False, SESSION_COOKIE_HTTPONLY=True
    ):
        problems = page_cookies_check(None)

    assert [problem.id for problem in problems] == ["core.W001", "core.W003"]
    with override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True):
        assert page_cookies_check(None) == []


CALLS: list[str] = []


class _Recording:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        CALLS.append(f"view:{self.name}")

    def process_exception(self, request, exception):
        CALLS.append(f"exception:{self.name}")


class First(_Recording):
    name = "first"


class Second(_Recording):
    name = "second"


@pytest.mark.parametrize(("path", "expected"), [("/me/", True), ("/webhook/pos", False)])
def test_hooks_run_in_djangos_order_for_pages_only(path, expected):
    CALLS.clear()
    modules = [f"{__name__}.First", f"{__name__}.Second"]
    with override_settings(PAGE_MIDDLEWARE=modules):
        middleware = PageMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get(path)

    middleware.process_view(request, None, (), {})
    middleware.process_exception(request, ValueError())

    order = ["view:first", "view:second", "exception:second", "exception:first"]
    assert (order if expected else []) == CALLS
