"""One-time secrets sent in links or kept by a client (sign-in links, invitations, sign-ups,
handoffs, voucher release keys): only this digest of them is stored. They are random and long
(secrets.token_urlsafe), so a fast hash is enough."""

import hashlib


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
