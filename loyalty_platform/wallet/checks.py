from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from loyalty_platform.wallet.credentials import (
    APPLE_SETTINGS,
    GOOGLE_SETTINGS,
    apple_wallet_configured,
    apple_wallet_credentials,
    google_wallet_configured,
    google_wallet_credentials,
)


@checks.register()
def wallet_credentials_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A wallet the operator began to configure but left off (a variable missing), or whose
    files do not load, is named at start-up instead of when a customer presses the button."""
    problems = []
    for wallet, names, configured, load in (
        ("Apple Wallet", APPLE_SETTINGS, apple_wallet_configured, apple_wallet_credentials),
        ("Google Wallet", GOOGLE_SETTINGS, google_wallet_configured, google_wallet_credentials),
    ):
        given = [name for name in names if getattr(settings, name)]
        if not configured():
            if given:
                missing = ", ".join(name for name in names if name not in given)
                problems.append(checks.Warning(f"{wallet} stays off: {missing} not set", id="wallet.W001"))
            continue
        try:
            load()
        except ImproperlyConfigured as error:
            problems.append(checks.Error(f"{wallet}: {error}", id="wallet.E001"))
    return problems
