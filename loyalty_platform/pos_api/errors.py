"""One place that turns refusals into HTTP: domain error codes, DRF's own exceptions and
validation errors all become `{"error": "<code>", ...}` with the contract's status."""

import math

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from loyalty_platform.core.errors import DomainError

# The literal strings below are part of the published contract, spaces included.
INVALID_API_KEY = "invalid or missing API key"
TOO_MANY_REQUESTS = "too many requests"

STATUS_BY_CODE = {
    "subscription_required": 402,
    "customer_not_found": 404,
    "coupon_not_found": 404,
    "program_not_found": 404,
    "giftcard_not_found": 404,
    "qr_session_not_found": 404,
    "reward_not_found": 404,
    "voucher_not_found": 404,
    "voucher_already_used": 409,
    "voucher_locked": 409,
    "voucher_not_redeemed": 409,
    "voucher_expired": 410,
    "reception_not_found": 404,
    "reception_not_reversible": 409,
    "reception_not_collectable": 409,
    "reception_not_collected": 409,
    "invitation_not_found": 404,
    "order_not_found": 404,
    "order_exists": 409,
    "order_already_returned": 409,
    "return_exists": 409,
    "qr_session_used": 409,
    "invitation_used": 409,
    "qr_session_expired": 410,
    "invitation_expired": 410,
    "transaction_not_found": 404,
    "giftcard_blocked": 409,
    "transaction_already_reversed": 409,
    "giftcard_expired": 410,
    "coupon_already_used": 409,
    "request_in_progress": 409,
    "pin_already_used": 409,
    "coupon_expired": 410,
    "pin_required": 412,
    "pin_locked": 423,
    "pin_attempts_exceeded": 429,
    "code or qr is required": 400,
    "request_too_large": 413,
}


def status_for(code: str) -> int:
    return STATUS_BY_CODE.get(code, 422)


def error_response(code: str, status: int | None = None, headers: dict | None = None, **extra) -> Response:
    return Response({"error": code, **extra}, status=status or status_for(code), headers=headers)


class RequestValidationError(DomainError):
    """Bad input named by field; always 422."""


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(exc.code, **exc.extra)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return error_response(INVALID_API_KEY, 401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if isinstance(exc, exceptions.Throttled):
        retry_after = max(1, math.ceil(exc.wait or 1))
        return error_response(
            TOO_MANY_REQUESTS, 429, headers={"Retry-After": str(retry_after)}, retry_after=retry_after
        )
    if isinstance(exc, exceptions.ParseError):
        return error_response("invalid_json", 400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return error_response("unsupported_media_type", 415)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response("method_not_allowed", 405)
    if isinstance(exc, exceptions.NotAcceptable):
        return error_response("not_acceptable", 406)
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return error_response("not_found", 404)
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response("forbidden", 403)
    if isinstance(exc, exceptions.ValidationError):
        return error_response("invalid_request", 422)
    return None
