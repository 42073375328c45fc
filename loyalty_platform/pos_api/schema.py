"""The OpenAPI schema of the POS API, generated from the operations' declarations
(endpoints.py) and the error catalog (core/errors.py): what is documented is what runs."""

import json
from pathlib import Path

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer

from loyalty_platform.core import errors
from loyalty_platform.core.errors import ErrorType, field_error
from loyalty_platform.pos_api.endpoints import Command, Operation, Query


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The key goes in `X-Api-Key` or as a bearer token: two schemes, either one suffices."""

    target_class = "loyalty_platform.pos_api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "ApiKeyBearer"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            {"type": "http", "scheme": "bearer", "description": "the same key as a bearer token"},
        ]


class RawValueFieldSchema(OpenApiSerializerFieldExtension):
    """A raw value is documented by the schema its declaration gives."""

    target_class = "loyalty_platform.pos_api.serializers.RawValueField"

    def map_serializer_field(self, auto_schema, direction):
        return dict(self.target.openapi_schema)


# Refusals any operation can answer around its own work: the request guard, authentication,
# the throttle, an outage.
EVERY_OPERATION = (
    errors.INVALID_CHARACTERS,
    errors.NOT_ACCEPTABLE,
    errors.INVALID_API_KEY,
    errors.TOO_MANY_REQUESTS,
    errors.SERVICE_UNAVAILABLE,
)
WITH_BODY = (
    errors.INVALID_JSON,
    errors.REQUEST_TOO_LARGE,
    errors.UNSUPPORTED_MEDIA_TYPE,
    errors.INVALID_BODY,
    errors.UNKNOWN_FIELD,
)
ONCE = (errors.IDEMPOTENCY_KEY_REUSED, errors.REQUEST_IN_PROGRESS)
PIN_STEP = (
    errors.PIN_REQUIRED,
    errors.PIN_INVALID,
    errors.PIN_EXPIRED,
    errors.PIN_ATTEMPTS_EXCEEDED,
    errors.PIN_LOCKED,
    errors.PIN_ALREADY_USED,
)
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
ERROR_PREFIX = "Error codes: "
EXTRA_FIELD_SCHEMAS = {
    "remaining_attempts": {"type": "integer"},
    "pin_length": {"type": "integer"},
    "retry_after": {"type": "integer"},
    "line": {"type": "integer"},
    "max": {"type": "integer"},
    "min_points": {"type": "integer"},
    "stamps_per_card": {"type": "integer"},
    "expires_at": {"type": "string", "format": "date-time"},
    "locked_until": {"type": "string", "format": "date-time"},
    "challenge_id": {"type": "string", "format": "uuid"},
}


def field_errors(serializer_class) -> list[ErrorType]:
    found = []
    for name, field in serializer_class().fields.items():
        if field.read_only:
            continue
        if field.required:
            found.append(field_error(name, "required"))
        found.append(field_error(name, "invalid"))
    return found


def operation_errors(operation: Operation, path: dict) -> list[ErrorType]:
    """Every refusal the operation can answer, in a stable order, without repeats."""
    listed: list[ErrorType] = [*EVERY_OPERATION]
    if path:
        listed.append(errors.NOT_FOUND)
        for resolver in path.values():
            listed.extend((resolver.missing, *resolver.refusals))
    if isinstance(operation, Command):
        listed.append(errors.SUBSCRIPTION_REQUIRED)
        if operation.request is not None:
            listed.extend(WITH_BODY)
            listed.extend(field_errors(operation.request))
            if "manual_code" in operation.request().fields:
                listed.append(errors.MANUAL_CODE_DISABLED)
        if operation.once is not None:
            listed.extend(ONCE)
        if operation.pin_action is not None:
            listed.extend(PIN_STEP)
    listed.extend(operation.errors)
    unique: dict[str, ErrorType] = {}
    for error in listed:
        unique.setdefault(error.code, error)
    return list(unique.values())


def error_body_schema(found: list[ErrorType]) -> dict:
    properties = {"error": {"type": "string", "enum": [error.code for error in found]}}
    for name in sorted({name for error in found for name in error.extra}):
        properties[name] = EXTRA_FIELD_SCHEMAS.get(name, {"type": "string"})
    return {"type": "object", "required": ["error"], "properties": properties}


def error_responses(operation: Operation, path: dict) -> dict[int, OpenApiResponse]:
    by_status: dict[int, list[ErrorType]] = {}
    for error in operation_errors(operation, path):
        by_status.setdefault(error.status, []).append(error)
    responses = {}
    for status, found in sorted(by_status.items()):
        lines = "\n".join(f"- `{error.code}`: {error.description}" for error in found)
        listed = ", ".join(f"`{error.code}`" for error in found)
        responses[status] = OpenApiResponse(
            response=error_body_schema(found), description=f"{ERROR_PREFIX}{listed}\n\n{lines}"
        )
    return responses


# Summaries and examples, by operation_id: documentation data, kept out of the code.
OPERATION_DOCS = json.loads((Path(__file__).parent / "operations.json").read_text())


class PosAutoSchema(AutoSchema):
    """Documents a POS view from the Query/Command declared for the method."""

    def _operation(self) -> Operation | None:
        declared = getattr(type(self.view), self.method.lower(), None)
        return declared if isinstance(declared, Operation) else None

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        optional = getattr(serializer, "omit_when_none", ())
        if optional and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in optional]
        return schema

    def get_operation_id(self):
        operation = self._operation()
        return operation.operation_id if operation else super().get_operation_id()

    def _docs(self) -> dict:
        operation = self._operation()
        return OPERATION_DOCS[operation.operation_id] if operation else {}

    def get_summary(self):
        return self._docs().get("summary") or super().get_summary()

    def get_description(self):
        return self._docs().get("description", "") if self._operation() else super().get_description()

    def get_request_serializer(self):
        operation = self._operation()
        if operation is None:
            return super().get_request_serializer()
        return operation.request if isinstance(operation, Command) else None

    def get_override_parameters(self):
        operation = self._operation()
        if isinstance(operation, Query):
            return list(operation.parameters)
        return super().get_override_parameters()

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        operation = self._operation()
        if operation is not None:
            for parameter in parameters:
                if parameter["name"] in ("customer_code", "reward_id"):
                    parameter["schema"] = {"type": "integer"}
        return parameters

    def get_response_serializers(self):
        operation = self._operation()
        if operation is None:
            return super().get_response_serializers()
        name = "".join(part.capitalize() for part in operation.operation_id.split("_"))
        data = operation.response(many=operation.many)
        envelope = inline_serializer(name=f"{name}Response", fields={"data": data})
        return {
            200: OpenApiResponse(envelope, description="Success"),
            **error_responses(operation, getattr(self.view, "path", {})),
        }

    def get_examples(self):
        operation = self._operation()
        if operation is None:
            return super().get_examples()
        docs = self._docs()
        examples = []
        if "request" in docs:
            examples.append(OpenApiExample("Request", value=docs["request"], request_only=True))
        if "response" in docs:
            success = {"data": docs["response"]}
            examples.append(OpenApiExample("Success", value=success, response_only=True, status_codes=[200]))
        return examples


def document_retry_after(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: 429 and 503 answers carry Retry-After."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/webhook/"):
            continue
        for operation in item.values():
            for status in ("429", "503"):
                if status in operation.get("responses", {}):
                    operation["responses"][status]["headers"] = RETRY_AFTER
    return result
