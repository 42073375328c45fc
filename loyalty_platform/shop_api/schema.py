"""The Shop API's own OpenAPI schema (/api/shop/schema/), generated from the same
declarations as the POS API's: the Shop API's envelope, its worded refusals and its query
parameters. The POS API's schema leaves the Shop API's paths out, and this one keeps only them."""

import json
from pathlib import Path

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from loyalty_platform.core.errors import ErrorType
from loyalty_platform.pos_api.schema import EXTRA_FIELD_SCHEMAS, PosAutoSchema, operation_errors
from loyalty_platform.shop_api.messages import wire_code

SHOP_PATH_PREFIX = "/{locale}/shop/"
# Imports of wire.py are made where used: wire.py names this module's ShopAutoSchema.
SHOP_OPERATION_DOCS = json.loads((Path(__file__).parent / "operations.json").read_text())
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}


class ShopCredentialsScheme(OpenApiAuthenticationExtension):
    """Both headers together: the key's public part and its secret."""

    target_class = "loyalty_platform.shop_api.wire.ShopApiKeyAuthentication"
    name = ["ShopApiKey", "ShopApiSecret"]

    def get_security_requirement(self, auto_schema):
        return [{name: [] for name in self.name}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "lty_<lookup id>"},
            {"type": "apiKey", "in": "header", "name": "X-API-Secret"},
        ]


class QueryBooleanFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "loyalty_platform.shop_api.wire.QueryBooleanField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "boolean"}


class PageMeta(serializers.Serializer):
    current_page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    total = serializers.IntegerField()
    last_page = serializers.IntegerField()


def shop_error_responses(operation, path: dict) -> dict[int, OpenApiResponse]:
    by_status: dict[int, list[ErrorType]] = {}
    for error in operation_errors(operation, path):
        by_status.setdefault(error.status, []).append(error)
    responses = {}
    for status, found in sorted(by_status.items()):
        codes = list(dict.fromkeys(wire_code(error) for error in found))
        properties = {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string", "description": "In the path's language (lt or en)."},
            "code": {"type": "string", "enum": codes},
        }
        for name in sorted({name for error in found for name in error.extra}):
            properties[name] = EXTRA_FIELD_SCHEMAS.get(name, {"type": "string"})
        lines = "\n".join(f"- `{wire_code(error)}`: {error.description}" for error in found)
        responses[status] = OpenApiResponse(
            response={"type": "object", "required": ["success", "message", "code"], "properties": properties},
            description=f"Error codes: {', '.join(f'`{code}`' for code in codes)}\n\n{lines}",
        )
    return responses


class ShopAutoSchema(PosAutoSchema):
    """Documents a Shop API view from its ShopQuery/ShopCommand."""

    def _docs(self) -> dict:
        operation = self._operation()
        return SHOP_OPERATION_DOCS.get(operation.operation_id, {}) if operation else {}

    def _lists(self) -> bool:
        from loyalty_platform.shop_api.wire import PageParams, ShopQuery

        operation = self._operation()
        return (
            isinstance(operation, ShopQuery)
            and bool(operation.params)
            and issubclass(operation.params, PageParams)
        )

    def get_override_parameters(self):
        from loyalty_platform.shop_api.wire import ShopQuery

        operation = self._operation()
        if isinstance(operation, ShopQuery):
            return [*([operation.params] if operation.params else []), *operation.parameters]
        return super().get_override_parameters()

    def _resolve_path_parameters(self, variables):
        from loyalty_platform.shop_api.wire import LOCALES

        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "locale":
                parameter["schema"] = {"type": "string", "enum": list(LOCALES)}
                parameter["description"] = "The language of the messages."
        return parameters

    def get_response_serializers(self):
        operation = self._operation()
        if operation is None:
            return super().get_response_serializers()
        name = "".join(part.capitalize() for part in operation.operation_id.split("_"))
        fields = {"success": serializers.BooleanField(default=True)}
        if self._lists():
            fields["data"] = operation.response(many=True)
            fields["meta"] = PageMeta()
        else:
            fields["data"] = operation.response(many=operation.many)
        envelope = inline_serializer(name=f"{name}Response", fields=fields)
        return {
            200: OpenApiResponse(envelope, description="Success"),
            **shop_error_responses(operation, getattr(self.view, "path", {})),
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
            success = {"success": True, "data": docs["response"]}
            if "meta" in docs:
                success["meta"] = docs["meta"]
            examples.append(OpenApiExample("Success", value=success, response_only=True, status_codes=[200]))
        return examples


def _is_shop_path(path: str) -> bool:
    return path.startswith(SHOP_PATH_PREFIX) or path.startswith(("/lt/shop/", "/en/shop/"))


def without_shop_api(endpoints: list) -> list:
    """drf-spectacular preprocessing hook of the POS API's schema."""
    return [endpoint for endpoint in endpoints if not _is_shop_path(endpoint[0])]


def only_shop_api(endpoints: list) -> list:
    """drf-spectacular preprocessing hook of the Shop API's schema."""
    return [endpoint for endpoint in endpoints if _is_shop_path(endpoint[0])]


def document_retry_after(result: dict, generator, request, public) -> dict:
    for operation in (op for item in result.get("paths", {}).values() for op in item.values()):
        for status in ("429", "503"):
            if status in operation.get("responses", {}):
                operation["responses"][status]["headers"] = RETRY_AFTER
    return result


SHOP_SCHEMA_SETTINGS = {
    "TITLE": "Loyalty platform: Loyalty.lt-compatible Shop API",
    "DESCRIPTION": (
        "The Shop API of Loyalty.lt's published SDKs, on this platform: change the SDK's base URL "
        "and use a key of your organization as `X-API-Key: lty_<lookup id>` and `X-API-Secret`. "
        "Paths start with the language of the messages, `/lt/shop/` or `/en/shop/`."
    ),
    "PREPROCESSING_HOOKS": ["loyalty_platform.shop_api.schema.only_shop_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loyalty_platform.shop_api.schema.document_retry_after",
    ],
}
