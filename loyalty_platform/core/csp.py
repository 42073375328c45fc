"""Content-Security-Policy: django-csp's middleware, plus the page's own websocket."""

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

# What a view or decorator may set on a response to change its policy (django-csp).
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)
_MAX_CACHED = 1000


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """Adds `ws(s)://<host>` to connect-src: the customer profile opens the realtime socket on
    the host that served it, and 'self' covers a websocket only in browsers that implement
    CSP level 3. Organizations have many hosts, so the source is the request's own.

    The admin portals get ADMIN_CONTENT_SECURITY_POLICY_REPLACE on top: their theme evaluates
    Alpine.js expressions and writes inline styles (docs/decisions/0027-portal-theme.md).

    Runs after TenantHostMiddleware, which has answered a malformed Host header with a 404,
    so the host here is one that get_host() validated and cannot break out of the policy.

    The headers of a response that neither used the nonce nor changed its policy depend on
    the host, the scheme and the path's exclusion only: they are built once per such key
    (django-csp builds the policy text twice per response)."""

    def __init__(self, get_response) -> None:
        super().__init__(get_response)
        self._headers: dict[tuple, tuple[str | None, str | None]] = {}

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", ()), _websocket_source(request)]
        parts.update = update
        if _admin_path(request):
            parts.replace = {**settings.ADMIN_CONTENT_SECURITY_POLICY_REPLACE, **(parts.replace or {})}
        return parts

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        key = (
            _websocket_source(request),
            _excluded(request, "CONTENT_SECURITY_POLICY"),
            _excluded(request, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
            settings.DEBUG and response.status_code in (404, 500),
            _admin_path(request),
        )
        headers = self._headers.get(key)
        if headers is None:
            plain = super().process_response(request, HttpResponse(status=response.status_code))
            headers = (plain.get(HEADER), plain.get(HEADER_REPORT_ONLY))
            if len(self._headers) >= _MAX_CACHED:
                self._headers.clear()
            self._headers[key] = headers
        for name, value in zip((HEADER, HEADER_REPORT_ONLY), headers, strict=True):
            if value and name not in response:
                response[name] = value
        # As django-csp does: the nonce cannot be asked for once the header is written.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _websocket_source(request: HttpRequest) -> str:
    return ("wss://" if request.is_secure() else "ws://") + request.get_host()


def _admin_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(settings.ADMIN_URL_PREFIX)


def _excluded(request: HttpRequest, setting: str) -> bool:
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
    return request.path_info.startswith(tuple(prefixes))
