from loyalty_platform.wallet.credentials import apple_wallet_configured, google_wallet_configured


def wallet_buttons() -> dict[str, bool]:
    """Which wallets the profile offers: those the operator configured."""
    return {"apple": apple_wallet_configured(), "google": google_wallet_configured()}
