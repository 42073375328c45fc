"""The Loyalty.lt Shop API's wire format over the POS API's one command flow
(pos_api/endpoints.py, docs/decisions/0050-shop-api.md).

What differs from the POS API is only the translation: the path starts with the language of
the messages (`/lt/shop/...`, `/en/shop/...`); the key comes as two headers, `X-API-Key` (the
key's public lookup id) and `X-API-Secret`; answers are `{"success": true, "data": ...}`
(lists add `meta` with the page), refusals `{"success": false, "message", "code"}` with the
status. Operations are the POS API's Query and Command declarations, so idempotency, the PIN
step, rate limits and the subscription check are the same code.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer

from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError, ErrorType
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.authentication import ApiKeyAuthentication
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView, Query
from loyalty_platform.pos_api.exception_handler import api_exception_handler
from loyalty_platform.shop_api.messages import message_for, wire_code
from loyalty_platform.shop_api.schema import ShopAutoSchema
from tenants.selectors import API_KEY_PREFIX

LOCALES = ("lt", "en")
# The SDK's keys read `lty_...`; the part after it is our key's lookup id.
PUBLIC_KEY_PREFIX = "lty_"
PER_PAGE_DEFAULT = 15
PER_PAGE_MAX = 100

_renderer = JSONRenderer()


def success_body(data: object, meta: dict | None = None) -> bytes:
    body = {"success": True, "data": data}
    if meta is not None:
        body["meta"] = meta
    return _renderer.render(body)


def error_body(error: ErrorType, **extra: object) -> dict:
    """A refusal in the Shop API's words, in the active language (the path's)."""
    return {"success": False, "message": message_for(error), "code": wire_code(error), **extra}


class ShopApiKeyAuthentication(ApiKeyAuthentication):
    """`X-API-Key: lty_<lookup id>` (or the bare lookup id) and `X-API-Secret: <secret>`:
    the two halves of one of the organization's API keys."""

    @staticmethod
    def raw_key(request) -> str:
        public = request.META.get("HTTP_X_API_KEY", "").strip()
        secret = request.META.get("HTTP_X_API_SECRET", "").strip()
        if not public or not secret:
            return ""
        lookup_id = public.removeprefix(PUBLIC_KEY_PREFIX)
        return f"{API_KEY_PREFIX}{lookup_id}_{secret}"


def shop_exception_handler(exc, context):
    """The POS API's mapping of every refusal, worded the Shop API's way."""
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return _reworded(api_exception_handler(exc, context), errors.INVALID_API_KEY)
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    error = exc.error if isinstance(exc, DomainError) else errors.CATALOG.get(response.data.get("error"))
    if error is None:
        return response
    return _reworded(response, error)


def _reworded(response, error: ErrorType):
    extra = {name: value for name, value in response.data.items() if name != "error"}
    response.data = error_body(error, **extra)
    return response


@dataclass(frozen=True)
class Page:
    """One page of a list: the rows and the SDK's `meta`."""

    rows: list
    current_page: int
    per_page: int
    total: int

    @property
    def meta(self) -> dict:
        return {
            "current_page": self.current_page,
            "per_page": self.per_page,
            "total": self.total,
            "last_page": max(1, math.ceil(self.total / self.per_page)),
        }


def paginate(rows: QuerySet | list, data: dict) -> Page:
    """The page `data` asks for (`page`, `per_page`, validated by PageParams)."""
    per_page = data.get("per_page") or PER_PAGE_DEFAULT
    page = data.get("page") or 1
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    start = (page - 1) * per_page
    return Page(rows=list(rows[start : start + per_page]), current_page=page, per_page=per_page, total=total)


class QueryIntegerField(serializers.IntegerField):
    """An integer in a query string (digits), or a JSON integer in a body."""

    def to_internal_value(self, data):
        if isinstance(data, (bool, float)):
            self.fail("invalid")
        if isinstance(data, str) and not (data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBooleanField(serializers.Field):
    """A flag in a query string: true/false, 1/0."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in self.VALUES:
            return self.VALUES[data.lower()]
        self.fail("invalid")

    def to_representation(self, value):
        return value


def id_field(**kwargs) -> QueryIntegerField:
    """A row id (shop, card, user, offer, game): a positive 63-bit integer."""
    return QueryIntegerField(min_value=1, max_value=2**62, **kwargs)


class ShopParams(s.PosRequestSerializer):
    """A query string's parameters: unknown ones are refused like unknown body fields."""


class PageParams(ShopParams):
    page = QueryIntegerField(required=False, min_value=1, max_value=10**6)
    per_page = QueryIntegerField(required=False, min_value=1, max_value=PER_PAGE_MAX)


def _render(operation, call: Call, result: object) -> bytes:
    context = {"currency": call.currency, "request": call.request, "call": call}
    if isinstance(result, Page):
        return success_body(operation.response(result.rows, many=True, context=context).data, result.meta)
    return success_body(operation.response(result, many=operation.many, context=context).data)


@dataclass(frozen=True)
class ShopQuery(Query):
    """A read; `params` validates the query string into call.data."""

    params: type[serializers.Serializer] | None = field(default=None, kw_only=True)

    def render(self, call: Call, result: object) -> bytes:
        return _render(self, call, result)

    def run(self, view, request, **kwargs) -> HttpResponse:
        data = self.params(data=request.query_params.dict()).validated() if self.params else {}
        if not self.params and request.query_params:
            raise errors.UNKNOWN_FIELD(field=sorted(request.query_params)[0])
        call = Call(view=view, data=data, path=self.fetch_path(view, self.parse_path(view, kwargs)))
        return HttpResponse(self.render(call, self.perform(call)), content_type="application/json")


@dataclass(frozen=True)
class ShopCommand(Command):
    """A change; `once_field` names the body field that makes retries idempotent (the
    SDK's `order_id` for transactions)."""

    once_field: str = field(default="external_id", kw_only=True)

    def render(self, call: Call, result: object) -> bytes:
        return _render(self, call, result)

    def once_key(self, call: Call, request_body: dict, raw_path: dict):
        if self.once_field != "external_id" and self.once_field in call.data:
            call.data.setdefault("external_id", call.data[self.once_field])
        return super().once_key(call, request_body, raw_path)


class ShopApiView(PosApiView):
    """Authentication, wording and language of every Shop API operation."""

    authentication_classes = [ShopApiKeyAuthentication]
    schema = ShopAutoSchema()

    def get_exception_handler(self) -> Callable:
        return shop_exception_handler

    def dispatch(self, request, *args, **kwargs):
        with translation.override(kwargs.pop("locale", "en")):
            return super().dispatch(request, *args, **kwargs)


def _refusal(request, error: ErrorType, locale: str) -> HttpResponse:
    with translation.override(locale if locale in LOCALES else "en"):
        return HttpResponse(
            _renderer.render(error_body(error)), status=error.status, content_type="application/json"
        )


@csrf_exempt
def shop_unknown_operation(request, locale: str = "en", **kwargs) -> HttpResponse:
    return _refusal(request, errors.NOT_FOUND, locale)


@csrf_exempt
def shop_not_supported(request, locale: str = "en", **kwargs) -> HttpResponse:
    """The XML product import fetches a merchant's URL; this platform does not (decision 0050)."""
    return _refusal(request, errors.NOT_SUPPORTED, locale)
