"""Django REST framework and the OpenAPI schema."""

from loyalty_platform.env import env

from .base import PRODUCTION

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "loyalty_platform.pos_api.schema.PosAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "loyalty_platform.pos_api.exception_handler.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": (
        "POS webhook API, wire-compatible with the Loyalite webhook API. "
        "Authenticate with `X-Api-Key: <key>` or `Authorization: Bearer <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "GiftcardKindEnum": ["printed", "digital"],
        "TransactionKindEnum": ["earn", "redeem"],
        "QrCardSessionStatusEnum": ["pending", "authenticated", "expired"],
        "CouponStatusEnum": ["active", "redeemed", "expired", "void"],
        "VoucherStatusEnum": "loyalty_platform.vouchers.models.Voucher.Status",
        "OrderStatusEnum": "loyalty_platform.orders.models.Order.Status",
        "RewardReceptionStatusEnum": "loyalty_platform.rewards.models.RewardReception.Status",
    },
    # The Shop API has a schema of its own (/api/shop/schema/, shop_api/schema.py).
    "PREPROCESSING_HOOKS": ["loyalty_platform.shop_api.schema.without_shop_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loyalty_platform.pos_api.schema.document_retry_after",
    ],
}

# Verification (PIN challenges and customer QR codes)
PIN_CHALLENGE_SECONDS = 120
PIN_MAX_ATTEMPTS = 3
PIN_LOCK_WINDOW_SECONDS = 900
PIN_LOCK_MAX_CHALLENGES = 10  # challenges issued to one customer in the window
PIN_LOCK_MAX_WRONG = 6  # wrong PINs of one customer in the window
PIN_LOCK_SECONDS = 900
QR_STATIC_SECONDS = 24 * 3600
QR_ROTATION_SECONDS = 30

# POS API rate limits: requests per minute per API key and endpoint group. An organization's
# `rate_limits` and a key's own override them.
POS_RATE_LIMITS = {"transactions": 60, "customer": 30}
# Abuse limits (loyalty_platform.core.throttle): attempts per window of seconds, per
# organization and per address, client IP or user name.
ABUSE_LIMITS = {
    "login_email_address": (5, 3600),  # sign-in emails to one address
    "login_email_ip": (30, 3600),  # sign-in and sign-up emails asked from one IP
    "api_key_failure_ip": (30, 300),  # wrong API keys from one IP
    "staff_login_failure_user": (5, 900),  # wrong passwords for one staff login
    "staff_login_failure_ip": (30, 900),  # wrong staff passwords from one IP
    "signup_ip": (5, 3600),  # merchant sign-ups and resent links asked from one IP
    "signup_email_domain": (20, 3600),  # merchant sign-ups and resent links to one email domain
    "signup_address_ip": (120, 600),  # live address checks of the sign-up page from one IP
    "app_link_customer": (3, 3600),  # profile links a shop emails to one customer (Shop API)
    "join_sms_customer": (3, 3600),  # texts with the link to finish joining, to one pending member
    "login_sms_phone": (3, 3600),  # sign-in links texted to one phone number (members without email)
    "phone_change_customer": (3, 3600),  # codes texted to confirm a new phone number, per customer
    "phone_change_phone": (3, 3600),  # codes texted to one phone number, whoever asks
}
# A customer's change of phone number on the profile (customers.phone_change): the texted
# code's lifetime and how many wrong tries it survives.
PHONE_CHANGE_CODE_MINUTES = 10
PHONE_CHANGE_CODE_ATTEMPTS = 5
# Merchant sign-up (tenants.signup): the trial's length and the email link's lifetime.
SIGNUP_TRIAL_DAYS = 14
SIGNUP_LINK_HOURS = 24
# Proxies in front of the web processes that append the client's address to X-Forwarded-For
# (a load balancer: 1). 0 trusts only the connection's own address.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
IDEMPOTENCY_KEEP_DAYS = 35

# Realtime (Pusher protocol). The key is public; the secret signs private channels.
REALTIME_ACTIVITY_TIMEOUT = 120
QR_CARD_SESSION_SECONDS = 300
INVITATION_SECONDS = 7 * 24 * 3600
# The texted link to finish joining after a till enrolled a phone (identification.joining).
JOIN_LINK_HOURS = 24

# Orders reported without a customer: how long the receipt's claim link stays usable.
RECEIPT_CLAIM_DAYS = 30

# Data retention (loyalty_platform.core.retention, hourly per organization; tenants.tasks.
# purge_platform_records for the public schema): days a record is kept after it expired (or,
# for receipt claims, after the order was claimed) before it is purged. Chosen in
# docs/decisions/0045-retention.md; the README's "Data retention" table lists them with the
# idempotency records (IDEMPOTENCY_KEEP_DAYS) and unconfirmed sign-ups, whose jobs are older.
RETENTION_DAYS = {
    "pin_challenge": 90,  # evidence that the customer confirmed a redemption, for disputes
    "login_link": 7,  # "my sign-in link did not work" questions
    "qr_card_session": 7,  # which till identified whom, for a till's support case
    "invitation": 30,  # a non-member's phone or email: kept short
    "staff_invitation": 30,  # the audit log keeps who invited whom for good
    "receipt_claim": 90,  # a claimed order's claim deadline, which no longer decides anything
    "portal_handoff": 30,  # the operators' trail keeps the support sessions for good
    "webhook_event": 30,  # an endpoint's delivery log (events whose deliveries are all done)
}
# Rows deleted (or updated) per transaction by the purges: short locks on busy tables.
RETENTION_CHUNK_SIZE = 1000

# Subscription notices (tenants.notices, hourly): owners are emailed this many days before the
# organization's subscriptions stop covering it (the nearest one only), and when they have.
SUBSCRIPTION_NOTICE_DAYS = (7, 1)
# A lapse older than this gets no notice (the first run after an upgrade, a long outage).
SUBSCRIPTION_LAPSED_NOTICE_DAYS = 7
# A notice whose email could not be sent is tried again on a run this long after, while it is
# still due, at most this many times in all.
SUBSCRIPTION_NOTICE_RETRY_MINUTES = 30
SUBSCRIPTION_NOTICE_MAX_ATTEMPTS = 10
# A notice taken by a worker that neither sent it nor recorded a failure this long after (it
# died) is taken again: a lapse warning sent twice is better than none.
SUBSCRIPTION_NOTICE_STALE_MINUTES = 30

# Outgoing webhooks (loyalty_platform.webhooks, docs/decisions/0049-outgoing-webhooks.md).
# After a failed attempt the next one waits this many seconds; after the last, it has failed.
WEBHOOK_RETRY_DELAYS = (60, 300, 1800, 7200, 21600)
# Connecting and reading the answer, each.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# One attempt in all, however slowly the receiver answers (shorter than the lease).
WEBHOOK_ATTEMPT_SECONDS = 2 * WEBHOOK_TIMEOUT_SECONDS + 5
# Development receivers may be http:// and on this machine or the local network; production
# ones are https:// on public addresses only, checked after DNS on every delivery.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=PRODUCTION)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=not PRODUCTION)
# An endpoint whose attempts have all failed for this long is disabled and its owners emailed.
WEBHOOK_DISABLE_AFTER_FAILING_DAYS = 3
# How long a rotated-out secret keeps signing beside the new one, unless staff choose otherwise.
WEBHOOK_SECRET_OVERLAP_HOURS = 24
# What the delivery log keeps of an answer.
WEBHOOK_LOG_RESPONSE_BYTES = 1024
# Deliveries a worker sends at once, and takes per look at the outbox.
WEBHOOK_SEND_THREADS = env.int("WEBHOOK_SEND_THREADS", default=16)
WEBHOOK_BATCH_SIZE = 200
# At most this many deliveries to one endpoint are sent at once by a worker, so a slow
# endpoint cannot hold every thread.
WEBHOOK_ENDPOINT_IN_FLIGHT = env.int("WEBHOOK_ENDPOINT_IN_FLIGHT", default=8)
# A claimed delivery is not taken by another worker for this long: a worker that died while
# sending it is presumed dead after that, and the delivery is sent again (same webhook-id).
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=2 * WEBHOOK_TIMEOUT_SECONDS + 30)
# A delivery task sends for about this long, then queues itself again if work is left.
WEBHOOK_RUN_SECONDS = 50
