"""The one flow of every POS operation (docs/decisions/0017).

An endpoint is a view class whose `get`/`post` attributes are `Query` or `Command`
declarations: the request serializer, the output serializer, the PIN action, the errors and
the function that does the work. The flow below runs them; schema.py documents them from the
same declarations, so the docs cannot drift from what the API does.

A command, in order: validate the body; resolve the URL objects; when the preset asks a PIN
for the action, replay a stored answer first, make the refusals that need no PIN, then the PIN
step; then one transaction: lock the call's external_id and replay if it ran, the refusals
(when no PIN step made them), the action, the rendered body stored with it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

from django.db import transaction
from django.http import HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError, ErrorType
from loyalty_platform.core.text import ascii_digits
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import customer_by_code
from loyalty_platform.pos_api.authentication import (
    ActiveSubscriptionForWrites,
    ApiKeyAuthentication,
    HasApiKey,
)
from loyalty_platform.pos_api.idempotency import (
    AnsweredMeanwhile,
    OnceKey,
    Replay,
    once_begin,
    once_begin_finding_customer,
    once_record,
    once_stored_answer,
    request_fingerprint,
)
from loyalty_platform.pos_api.parsers import ExactJSONParser
from loyalty_platform.pos_api.throttling import ApiKeyRateThrottle
from loyalty_platform.realtime.publish import schema_listeners
from loyalty_platform.verification.services import manual_code_check, pin_gate, pin_required_for

_renderer = JSONRenderer()


def json_body(data: object) -> bytes:
    return _renderer.render({"data": data})


@dataclass(frozen=True)
class PathObject:
    """How a URL segment becomes what the operation works on: `parse` turns the text into a
    value or None (then `missing` is answered), `fetch` optionally loads the object."""

    missing: ErrorType
    parse: Callable[[object], object | None]
    fetch: Callable[[object], object | None] | None = None
    refusals: tuple[ErrorType, ...] = ()  # what `parse` may raise besides, for the docs

    def parsed(self, raw: object) -> object:
        value = self.parse(raw)
        if value is None:
            raise self.missing()
        return value

    def fetched(self, value: object) -> object:
        if self.fetch is None:
            return value
        found = self.fetch(value)
        if found is None:
            raise self.missing()
        return found


def row_by_text_id(model, missing: ErrorType, *related: str) -> PathObject:
    """A row named by a short text id (QR sessions, invitations)."""
    return PathObject(
        missing=missing,
        parse=lambda raw: str(raw)[:32],
        fetch=lambda pk: model.objects.select_related(*related).filter(pk=pk).first(),
    )


def parse_uuid(raw: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def row_by_uuid(missing: ErrorType) -> PathObject:
    """An object named by a UUID: parsed here, fetched (under its locks) by the service."""
    return PathObject(missing=missing, parse=parse_uuid)


def parse_customer_code(raw: object) -> int | None:
    text = str(raw)
    return int(text) if ascii_digits(text) and len(text) == 6 else None


CUSTOMER = PathObject(missing=errors.CUSTOMER_NOT_FOUND, parse=parse_customer_code, fetch=customer_by_code)


NOT_LOOKED_UP = object()


@dataclass
class Call:
    """What an operation's function gets: the validated input, the URL objects, the caller."""

    view: APIView
    data: dict
    path: dict
    pin_challenge_id: uuid.UUID | None = None
    # A PIN step follows check(): without one, check() runs in the action's transaction,
    # right before the action, which may skip reads the action repeats under its locks.
    pin_step: bool = False
    extra: dict = field(default_factory=dict)  # what check() found, for perform() to use
    # The body's customer as the transaction's first statement found them (Command.begin).
    found_customer: Customer | object | None = field(default=NOT_LOOKED_UP, repr=False)

    @property
    def request(self):
        return self.view.request

    @property
    def organization(self):
        return self.view.request._request.organization

    @property
    def currency(self) -> str:
        return self.organization.currency

    @property
    def api_key(self):
        return self.view.request.auth

    @property
    def api_key_lookup_id(self) -> str:
        return self.view.request.auth.lookup_id

    def arguments(self, *fields: str, pin: bool = False) -> dict:
        """A service's keywords: these request fields (as validated), who calls, and with
        `pin` the verified PIN challenge to spend."""
        arguments = {name: self.data[name] for name in fields if name in self.data}
        arguments["api_key_lookup_id"] = self.api_key_lookup_id
        if pin:
            arguments["pin_challenge_id"] = self.pin_challenge_id
        return arguments

    @cached_property
    def customer(self) -> Customer | None:
        """The customer the call names: in the URL, else `customer_code` in the body."""
        if "customer_code" in self.path:
            return self.path["customer_code"]
        if "customer_code" not in self.data:
            return None
        customer = self.found_customer
        if customer is NOT_LOOKED_UP:
            customer = customer_by_code(self.data["customer_code"])
        if customer is None:
            raise errors.CUSTOMER_NOT_FOUND()
        return customer


@dataclass(frozen=True, kw_only=True)
class Operation:
    """What every operation may declare besides its name, serializers and function."""

    errors: tuple[ErrorType, ...] = ()  # its own refusals (the shared ones are added by schema.py)
    many: bool = False  # `data` is a list of what `response` renders
    rate_limit: str | None = None  # the rate limit group, when not the default of its kind

    def __get__(self, view, owner=None):
        # Bound to the view, a declaration is the handler APIView.dispatch calls.
        return self if view is None else partial(self.run, view)

    @staticmethod
    def parse_path(view: APIView, kwargs: dict) -> dict:
        """The URL's values as the call names them (what its fingerprint holds)."""
        objects = type(view).path
        return {
            name: objects[name].parsed(value) if name in objects else value for name, value in kwargs.items()
        }

    @staticmethod
    def fetch_path(view: APIView, parsed: dict) -> dict:
        """The objects the URL names, loaded (after a replay had its chance: a stored answer
        stands even when its object has gone since)."""
        objects = type(view).path
        return {
            name: objects[name].fetched(value) if name in objects else value for name, value in parsed.items()
        }

    def render(self, call: Call, result: object) -> bytes:
        context = {"currency": call.currency, "request": call.request, "call": call}
        return json_body(self.response(result, many=self.many, context=context).data)

    def run(self, view: APIView, request, **kwargs) -> HttpResponse:
        raise NotImplementedError


@dataclass(frozen=True)
class Query(Operation):
    """A read: resolve, perform, render. Changes nothing."""

    operation_id: str  # also names its summary and examples in operations.json
    response: type[serializers.Serializer]
    perform: Callable[[Call], object]
    parameters: tuple = field(default=(), kw_only=True)  # drf-spectacular OpenApiParameter

    def run(self, view: APIView, request, **kwargs) -> HttpResponse:
        call = Call(view=view, data={}, path=self.fetch_path(view, self.parse_path(view, kwargs)))
        return HttpResponse(self.render(call, self.perform(call)), content_type="application/json")


@dataclass(frozen=True)
class Command(Operation):
    """A change: at most once per external_id, PIN-gated by the preset, in one transaction."""

    operation_id: str  # also names its summary and examples in operations.json
    request: type[serializers.Serializer] | None
    response: type[serializers.Serializer]
    perform: Callable[[Call], object]
    # The idempotency records' name for this operation; None: calls are not deduplicated.
    once: str | None = field(default=None, kw_only=True)
    # The PIN action (verification), or a function choosing it from the call (None: no PIN).
    pin_action: str | Callable[[Call], str | None] | None = field(default=None, kw_only=True)
    # Refusals that need no PIN, made before the PIN prompt; may leave findings in call.extra.
    check: Callable[[Call], None] | None = field(default=None, kw_only=True)
    # Whose PIN: by default the customer the call names.
    pin_customer: Callable[[Call], Customer | None] = field(default=lambda call: call.customer, kw_only=True)
    # What the customer's PIN box says the cashier asks for ("Redeem 150 points"); without
    # it, the action's prompt.
    pin_summary: Callable[[Call], str] | None = field(default=None, kw_only=True)

    def once_key(self, call: Call, request_body: dict, raw_path: dict) -> OnceKey | None:
        external_id = call.data.get("external_id")
        if self.once is None or external_id is None:
            return None
        # The path names what the call acts on: the same external_id elsewhere is another call.
        body = {**request_body, "_path": raw_path} if raw_path else request_body
        return OnceKey(endpoint=self.once, external_id=external_id, fingerprint=request_fingerprint(body))

    def refuse_early(self, call: Call) -> None:
        if "manual_code" in call.data:
            manual_code_check(organization=call.organization, manual_code=call.data["manual_code"])
        if self.check is not None:
            self.check(call)

    def run(self, view: APIView, request, **kwargs) -> HttpResponse:
        data = self.request(data=request.data).validated() if self.request else {}
        parsed = self.parse_path(view, kwargs)
        call = Call(view=view, data=data, path=parsed)
        key = self.once_key(call, request.data, {name: _canonical(value) for name, value in parsed.items()})
        action = self.pin_action(call) if callable(self.pin_action) else self.pin_action
        gated = action is not None and pin_required_for(organization=call.organization, action=action)
        call.pin_step = gated
        try:
            if gated:
                # Replay, or refuse a duplicate in flight, before anyone is asked for a PIN.
                if key is not None and (stored := _probe(key)) is not None:
                    return _replay(stored)
                call.path = self.fetch_path(view, parsed)
                self.refuse_early(call)
                call.pin_challenge_id = self.pin_step(call, action)
            with transaction.atomic():
                if key is not None and (stored := self.begin(call, key)) is not None:
                    return _replay(stored)
                if not gated:
                    call.path = self.fetch_path(view, parsed)
                    self.refuse_early(call)
                body = self.render(call, self.perform(call))
                if key is not None:
                    once_record(key, status=200, body=body, api_key_lookup_id=call.api_key_lookup_id)
        except (DomainError, AnsweredMeanwhile):
            # A duplicate that committed meanwhile wins: what it answered is the answer, not
            # the refusal its effects caused here (a coupon it used, a PIN it spent).
            if key is not None and (stored := once_stored_answer(key)) is not None:
                return _replay(stored)
            raise
        return HttpResponse(body, content_type="application/json")

    @staticmethod
    def begin(call: Call, key: OnceKey) -> Replay | None:
        """once_begin; when the body names the customer and nobody looked them up yet, the
        same statement finds them (Call.customer then uses what it found)."""
        code = call.data.get("customer_code")
        if "customer_code" in call.path or "customer" in call.__dict__ or not isinstance(code, int):
            return once_begin(key)
        stored, call.found_customer = once_begin_finding_customer(key, code)
        return stored

    def pin_step(self, call: Call, action: str) -> uuid.UUID | None:
        customer = self.pin_customer(call)
        if customer is None:
            raise RuntimeError(f"{self.operation_id} asks a PIN but names no customer to ask")
        summary = fingerprint = ""
        if self.pin_summary is not None:
            # The customer reads it in their language; the PIN is bound to it in English.
            with translation.override("en"):
                fingerprint = self.pin_summary(call)
            with translation.override(customer.language or call.organization.language or "en"):
                summary = self.pin_summary(call)
        return pin_gate(
            organization=call.organization,
            customer=customer,
            action=action,
            pin=call.data.get("verification_pin"),
            challenge_id=call.data.get("challenge_id"),
            api_key_lookup_id=call.api_key_lookup_id,
            summary=summary,
            fingerprint=fingerprint,
        )


def _canonical(value: object) -> object:
    """A parsed URL value as the fingerprint names it (JSON: a UUID as text)."""
    return value if isinstance(value, (int, str)) else str(value)


def _probe(key: OnceKey) -> Replay | None:
    """once_begin in a transaction of its own: the stored answer, or request_in_progress
    while another transaction runs the call."""
    with transaction.atomic():
        return once_begin(key)


def _replay(stored: Replay) -> HttpResponse:
    return HttpResponse(stored.body, status=stored.status, content_type="application/json")


class PosApiView(APIView):
    """Authentication, permissions, throttle and parser of every POS operation."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey, ActiveSubscriptionForWrites]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [ExactJSONParser]
    renderer_classes = [JSONRenderer]
    # The URL's segments that name an object: how each resolves (PathObject), for every method.
    path: dict[str, PathObject] = {}

    @property
    def rate_limit_group(self) -> str:
        """The per-key rate limit this call counts against: look-ups share the "customer"
        budget, changes the "transactions" one, unless the operation names its own."""
        method = self.request.method.lower()
        operation = getattr(type(self), "get" if method in ("head", "options") else method, None)
        if isinstance(operation, Operation) and operation.rate_limit:
            return operation.rate_limit
        return "customer" if isinstance(operation, Query) else "transactions"

    def dispatch(self, request, *args, **kwargs):
        # What the rate limit learnt about listeners holds for this request only.
        token = schema_listeners.set(None)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            schema_listeners.reset(token)


@csrf_exempt  # machines call it: a POST to a wrong path is a 404 like any other, not a CSRF 403
def unknown_operation(request, *args, **kwargs) -> HttpResponse:
    return HttpResponse(
        _renderer.render({"error": errors.NOT_FOUND.code}), status=404, content_type="application/json"
    )
