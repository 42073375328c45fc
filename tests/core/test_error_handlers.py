"""Errors that reach Django's handlers answer JSON on API paths on both kinds of host."""

import json

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver

from loyalty_platform.core import views

URLCONFS = ["loyalty_platform.urls_tenant", "loyalty_platform.urls_public"]


@pytest.mark.parametrize("urlconf", URLCONFS)
@pytest.mark.parametrize(
    ("status", "handler"), [(400, views.bad_request), (404, views.not_found), (500, views.server_error)]
)
def test_both_hosts_use_the_platforms_handlers(urlconf, status, handler):
    assert get_resolver(urlconf).resolve_error_handler(status) is handler


@pytest.mark.parametrize(
    "path", ["/webhook/pos", "/me/api/profile", "/realtime/auth", "/api/schema/", "/healthz"]
)
@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (views.server_error, 500, "server_error"),
        (views.bad_request, 400, "bad_request"),
        (views.not_found, 404, "not_found"),
    ],
)
def test_api_paths_get_json(path, handler, status, code):
    request = RequestFactory().get(path, HTTP_ACCEPT="text/html")
    response = handler(request) if handler is views.server_error else handler(request, Exception())
    assert (response.status_code, response["Content-Type"], json.loads(response.content)) == (
        status,
        "application/json",
        {"error": code},
    )


@pytest.mark.parametrize(("handler", "status"), [(views.server_error, 500), (views.bad_request, 400)])
def test_pages_for_people_are_plain_html_without_detail(handler, status):
    request = RequestFactory().get("/me/")
    response = (
        handler(request) if handler is views.server_error else handler(request, Exception("secret detail"))
    )
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert b"secret detail" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize("host", ["test-a.localhost", "localhost"])
def test_the_favicon_every_browser_asks_for_is_there(db, host):
    client = Client(HTTP_HOST=host)

    response = client.get("/favicon.ico")
    icon = client.get(response["Location"])

    assert (response.status_code, response["Location"]) == (301, "/static/img/favicon.svg")
    assert (icon.status_code, icon["Content-Type"]) == (200, "image/svg+xml")
