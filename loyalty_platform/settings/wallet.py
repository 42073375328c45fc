"""Apple Wallet passes and Google Wallet save links (loyalty_platform.wallet): both off until
the operator names their credentials here (docs/decisions/0051-wallet-passes.md)."""

from loyalty_platform.env import env

# Apple: the operator's pass type certificate and its private key (PEM files), the key's
# password if it has one, and Apple's WWDR intermediate certificate (PEM) that signs it.
APPLE_WALLET_PASS_TYPE_ID = env.str("APPLE_WALLET_PASS_TYPE_ID", default="")
APPLE_WALLET_TEAM_ID = env.str("APPLE_WALLET_TEAM_ID", default="")
APPLE_WALLET_CERTIFICATE_PATH = env.str("APPLE_WALLET_CERTIFICATE_PATH", default="")
APPLE_WALLET_KEY_PATH = env.str("APPLE_WALLET_KEY_PATH", default="")
APPLE_WALLET_KEY_PASSWORD = env.str("APPLE_WALLET_KEY_PASSWORD", default="")
APPLE_WALLET_WWDR_CERTIFICATE_PATH = env.str("APPLE_WALLET_WWDR_CERTIFICATE_PATH", default="")

# Google: the issuer id of the operator's Google Wallet account and the JSON key file of the
# service account that signs the save links (its client_email and private_key are read).
GOOGLE_WALLET_ISSUER_ID = env.str("GOOGLE_WALLET_ISSUER_ID", default="")
GOOGLE_WALLET_SERVICE_ACCOUNT_FILE = env.str("GOOGLE_WALLET_SERVICE_ACCOUNT_FILE", default="")

# How long the member QR on a pass is accepted by the tills (the profile's own lasts a day);
# downloading the pass again renews it and the balances on it.
WALLET_QR_DAYS = env.int("WALLET_QR_DAYS", default=90)
