"""Refuse input that no view can use before any view sees it.

PostgreSQL refuses the NUL character in text, so a NUL anywhere in a request (path, query,
headers, form fields, JSON strings) would surface as a database error deep in some view: it
is refused here, for every surface at once, with 400 `invalid_characters`. Bodies over
DATA_UPLOAD_MAX_MEMORY_SIZE get 413 `request_too_large`, and malformed form bodies 400
`invalid_request`, instead of Django's HTML error page. API paths answer JSON; pages answer
a plain-text status."""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError

from loyalty_platform.core.clients import machine_error_response, wants_json

NUL = "\x00"
# `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is six characters).
JSON_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
FORM_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

PLAIN_TEXT = {
    "invalid_characters": "Bad request: the request contains a NUL character.",
    "invalid_request": "Bad request: the request body cannot be read.",
    "request_too_large": "The request body is too large.",
}


class RequestRefused(Exception):
    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def refusal_response(request: HttpRequest, code: str, status: int) -> HttpResponse:
    # JSON for the API paths and for any script asking for JSON alone (the sign-up page's
    # address check, the share page's copy button), as the 503 of core.faults answers.
    if wants_json(request):
        return machine_error_response(request, code, status)
    return HttpResponse(PLAIN_TEXT[code], status=status, content_type="text/plain; charset=utf-8")


def _has_nul(values) -> bool:
    return any(NUL in value for value in values)


def _check_body(request: HttpRequest) -> None:
    content_type = request.content_type or ""
    if content_type in FORM_CONTENT_TYPES:
        # Parsed (and size-checked) by Django; file contents may be binary, their names not.
        if _has_nul(request.POST) or any(_has_nul(values) for _, values in request.POST.lists()):
            raise RequestRefused("invalid_characters", 400)
        if any(NUL in (upload.name or "") for _, uploads in request.FILES.lists() for upload in uploads):
            raise RequestRefused("invalid_characters", 400)
        return
    body = request.body  # raises RequestDataTooBig when Content-Length is over the limit
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and len(body) > limit:  # a chunked body has no Content-Length
        raise RequestDataTooBig()
    if b"\x00" in body or ("json" in content_type and JSON_ESCAPED_NUL.search(body)):
        raise RequestRefused("invalid_characters", 400)


def _check(request: HttpRequest) -> None:
    if NUL in request.path or NUL in request.path_info:
        raise RequestRefused("invalid_characters", 400)
    headers = (value for key, value in request.META.items() if key.startswith(("HTTP_", "CONTENT_")))
    if any(isinstance(value, str) and NUL in value for value in headers):
        raise RequestRefused("invalid_characters", 400)
    if _has_nul(request.GET) or any(_has_nul(values) for _, values in request.GET.lists()):
        raise RequestRefused("invalid_characters", 400)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") or request.META.get("CONTENT_LENGTH"):
        _check_body(request)


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            _check(request)
        except RequestRefused as refused:
            return refusal_response(request, refused.code, refused.status)
        except RequestDataTooBig:
            return refusal_response(request, "request_too_large", 413)
        except (TooManyFieldsSent, TooManyFilesSent, MultiPartParserError, UnreadablePostError):
            return refusal_response(request, "invalid_request", 400)
        return self.get_response(request)
