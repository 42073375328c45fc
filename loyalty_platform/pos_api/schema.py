"""OpenAPI declarations shared by every POS operation (drf-spectacular extensions)."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension

from loyalty_platform.core.errors import CATALOG


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


# Refusals that any POS operation can answer before or around its view (the request guard,
# the parser, the request serializer, authentication, the throttle, URL resolution, a
# database or Redis outage), so they are documented here once rather than in each view's
# declaration.
EVERY_OPERATION = {
    "400": ["invalid_characters"],
    "401": ["invalid or missing API key"],
    "429": ["too many requests"],
    "503": ["service_unavailable"],
}
WITH_BODY = {
    "400": ["invalid_json"],
    "413": ["request_too_large"],
    "415": ["unsupported_media_type"],
    "422": ["invalid_body", "unknown_field", "<field>_required", "<field>_invalid"],
}
WITH_PATH_PARAMETERS = {"404": ["not_found"]}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
ERROR_PREFIX = "Error codes: "
LISTED_CODE = re.compile(r"`([^`]+?)(?: \((\d{3})\))?`")


def _error_codes(operation: dict) -> dict[str, list[str]]:
    """The codes each declaration lists, regrouped under the status they are answered with:
    a code's own `(NNN)` note, else the exception handler's table, else where it was listed."""
    by_status: dict[str, list[str]] = {}
    for status, response in operation.get("responses", {}).items():
        description = response.get("description", "")
        if not status.startswith(("4", "5")) or not description.startswith(ERROR_PREFIX):
            continue
        for code, noted in LISTED_CODE.findall(description):
            actual = noted or (str(CATALOG[code].status) if code in CATALOG else status)
            by_status.setdefault(actual, [])
            if code not in by_status[actual]:
                by_status[actual].append(code)
    return by_status


def _document(operation: dict, by_status: dict[str, list[str]]) -> None:
    responses = operation.setdefault("responses", {})
    for status in [status for status in responses if status.startswith(("4", "5"))]:
        if responses[status].get("description", "").startswith(ERROR_PREFIX) and status not in by_status:
            del responses[status]
    for status, codes in by_status.items():
        response = responses.setdefault(
            status, {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        )
        response["description"] = ERROR_PREFIX + ", ".join(f"`{code}`" for code in codes)
    operation["responses"] = dict(sorted(responses.items()))


def document_shared_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: every POS operation documents each error code
    under the status it is really answered with, plus the refusals shared by all."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/webhook/"):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            by_status = _error_codes(operation)
            shared = [EVERY_OPERATION]
            if "requestBody" in operation:
                shared.append(WITH_BODY)
            if "{" in path:
                shared.append(WITH_PATH_PARAMETERS)
            for errors in shared:
                for status, codes in errors.items():
                    listed = by_status.setdefault(status, [])
                    listed.extend(code for code in codes if code not in listed)
            _document(operation, by_status)
            for status in ("429", "503"):
                operation["responses"][status]["headers"] = RETRY_AFTER
    return result
