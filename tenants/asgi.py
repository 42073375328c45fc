from channels.db import database_sync_to_async

from tenants.platform import is_valid_hostname, platform_hostnames
from tenants.selectors import organization_for_hostname


def _scope_hostname(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1").rsplit(":", 1)[0].lower().rstrip(".")
    return ""


class TenantWebsocketMiddleware:
    """Resolve the organization once per connection into scope["tenant"] (None on the
    platform host). Consumers enter tenant_context themselves for every database call;
    unknown hosts are refused before the consumer runs."""

    def __init__(self, inner):
        self.inner = inner
        self.platform_hostnames = platform_hostnames()

    async def __call__(self, scope, receive, send):
        hostname = _scope_hostname(scope)
        if hostname in self.platform_hostnames:
            tenant = None
        else:
            tenant = None
            if is_valid_hostname(hostname):
                tenant = await database_sync_to_async(organization_for_hostname)(hostname)
            if tenant is None:
                await send({"type": "websocket.close", "code": 4404})
                return
        return await self.inner({**scope, "tenant": tenant}, receive, send)
