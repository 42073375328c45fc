"""One place that turns refusals into HTTP: typed domain errors (core/errors.py), DRF's own
exceptions and validation errors all become `{"error": "<code>", ...}` with their status."""

import math

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError, ErrorType


def error_response(error: ErrorType, headers: dict | None = None, **extra) -> Response:
    return Response({"error": error.code, **extra}, status=error.status, headers=headers)


# DRF's exceptions that need no headers, with the error each one answers.
DRF_ERRORS = (
    (exceptions.ParseError, errors.INVALID_JSON),
    (exceptions.UnsupportedMediaType, errors.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.MethodNotAllowed, errors.METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, errors.NOT_ACCEPTABLE),
    ((exceptions.NotFound, Http404), errors.NOT_FOUND),
    (exceptions.PermissionDenied, errors.FORBIDDEN),
    (exceptions.ValidationError, errors.INVALID_REQUEST),
)


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        # A service's own wait (a per-person limit) is a header too, as the throttle's is.
        retry_after = exc.extra.get("retry_after")
        headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None
        return error_response(exc.error, headers=headers, **exc.extra)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return error_response(errors.INVALID_API_KEY, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if isinstance(exc, exceptions.Throttled):
        retry_after = max(1, math.ceil(exc.wait or 1))
        return error_response(
            errors.TOO_MANY_REQUESTS, headers={"Retry-After": str(retry_after)}, retry_after=retry_after
        )
    for drf_exception, error in DRF_ERRORS:
        if isinstance(exc, drf_exception):
            return error_response(error)
    return None
