"""Content-Security-Policy: django-csp's middleware, plus the page's own websocket."""

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """Adds `ws(s)://<host>` to connect-src: the customer profile opens the realtime socket on
    the host that served it, and 'self' covers a websocket only in browsers that implement
    CSP level 3. Organizations have many hosts, so the source is the request's own.

    Runs after TenantHostMiddleware, which has answered a malformed Host header with a 404,
    so the host here is one that get_host() validated and cannot break out of the policy."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        source = ("wss://" if request.is_secure() else "ws://") + request.get_host()
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", ()), source]
        parts.update = update
        return parts
