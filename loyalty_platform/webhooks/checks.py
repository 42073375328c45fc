from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def webhook_addresses_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Both settings can be turned off from the environment (for a staging receiver on a private
    network); in production that lets anyone with the developer role reach internal hosts."""
    problems = []
    if not settings.WEBHOOK_REQUIRE_HTTPS:
        problems.append(
            checks.Warning(
                "WEBHOOK_REQUIRE_HTTPS is off: webhook endpoints may be plain http://",
                id="webhooks.W001",
            )
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        problems.append(
            checks.Warning(
                "WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on: webhooks may reach private and loopback hosts",
                id="webhooks.W002",
            )
        )
    return problems
