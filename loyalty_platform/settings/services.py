"""Database, Redis (cache, channel layer, Celery broker) and email."""

from loyalty_platform.env import env, require

from .base import PRODUCTION, USES_EMBEDDED_SERVICES, VAR_DIR

if USES_EMBEDDED_SERVICES:
    from loyalty_platform import embedded

    _database = embedded.ensure_postgres().django_settings()
else:
    _database = env.db_url("DATABASE_URL")
# Lets a helper process (a Celery worker in a test, a benchmark) use another database.
if env.str("DATABASE_NAME", default=""):
    _database["NAME"] = env.str("DATABASE_NAME")
# ... or another server (the PostgreSQL fault test points its web server at a cluster of its own).
if env.str("DATABASE_HOST", default=""):
    _database["HOST"] = env.str("DATABASE_HOST")
    _database["PORT"] = env.str("DATABASE_PORT", default="5432")

# "transaction" when PostgreSQL is reached through a pooler in transaction mode (PgBouncer's
# pool_mode=transaction): every transaction then sets its own search path (SET LOCAL), and
# server-side cursors and prepared statements, which outlive a transaction, are off
# (docs/decisions/0060-search-path-behind-a-transaction-pooler.md). Empty: a direct connection.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
_TRANSACTION_POOLING = DATABASE_POOLER == "transaction"

DATABASES = {
    "default": {
        **_database,
        "ENGINE": "loyalty_platform.core.postgresql_backend",
        "POOLER": DATABASE_POOLER,
        "DISABLE_SERVER_SIDE_CURSORS": _TRANSACTION_POOLING,
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        # Statements run through connection.prepared_cursor() are prepared on first use (the
        # ORM's are not). Off behind a pooler that cannot keep prepared statements (PgBouncer
        # before 1.21, or without max_prepared_statements; Debian 12 ships 1.18).
        "OPTIONS": {
            **_database.get("OPTIONS", {}),
            "prepare_threshold": (
                0 if env.bool("DATABASE_PREPARED_STATEMENTS", default=not _TRANSACTION_POOLING) else None
            ),
        },
        "TEST": {"NAME": env.str("TEST_DATABASE_NAME", default="test_loyalty")},
    }
}
# A streaming replica of the primary, optional: the dashboard, segment sizes and the customer
# export read from it (loyalty_platform.core.replica, docs/decisions/0062-read-replica.md).
if env.str("DATABASE_REPLICA_URL", default=""):
    _replica = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"] = {
        **DATABASES["default"],
        **{key: _replica[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT") if key in _replica},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["loyalty_platform.core.replica.ReplicaRouter", "django_tenants.routers.TenantSyncRouter"]

if PRODUCTION:
    REDIS_URL = require("REDIS_URL")
elif env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
else:
    from loyalty_platform import embedded

    REDIS_URL = embedded.ensure_redis()

# Everything this process writes into Redis is prefixed by the namespace, so a test run and
# `make run` can share one Redis server without seeing each other's keys, queues or groups.
REDIS_NAMESPACE = env.str("REDIS_NAMESPACE", default="lp")

# Short, so that while Redis is unreachable each call loses little time before failing open
# (core.faults). Blocking reads (Celery's and the channel layer's) set only the connect one.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.3)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
REDIS_CLIENT_TIMEOUTS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}

# A process's own copy of a host, key, subscription or program look-up that no POS call has
# confirmed for this long is looked up again (docs/decisions/0021-in-process-caches.md).
LOCAL_CACHE_SECONDS = env.float("LOCAL_CACHE_SECONDS", default=10.0)


def redis_settings(redis_url: str, namespace: str) -> dict:
    return {
        "CACHES": {
            # Tenant data: django-tenants' key function puts the current schema into every key.
            "default": {
                "BACKEND": "loyalty_platform.core.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": namespace,
                "KEY_FUNCTION": "django_tenants.cache.make_key",
                "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
            },
            # Look-ups that decide which tenant a request belongs to (domains, API keys).
            "platform": {
                "BACKEND": "loyalty_platform.core.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": f"{namespace}:platform",
            },
        },
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": "loyalty_platform.realtime.layer.ListenerCountingChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": redis_url, "socket_connect_timeout": REDIS_CONNECT_TIMEOUT}],
                    "prefix": f"{namespace}:asgi",
                },
            }
        },
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": f"{namespace}:celery",
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "global_keyprefix": f"{namespace}:",
            "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        },
    }


globals().update(redis_settings(REDIS_URL, REDIS_NAMESPACE))
CELERY_TASK_IGNORE_RESULT = True
# Sending a task gives up after about half a second (core.faults.task_send_on_commit retries).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url("EMAIL_URL"))
else:
    # Without an SMTP server, mail is written to files under var/mail/ for a person to read.
    EMAIL_BACKEND = "loyalty_platform.core.mail.FileAndConsoleBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
# Every message goes through the counting wrapper (usage metering), which delivers with this.
EMAIL_DELIVERY_BACKEND = globals()["EMAIL_BACKEND"]
EMAIL_BACKEND = "loyalty_platform.core.mail.CountingBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="loyalty@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Text messages (core.sms): "console", "file" (under SMS_FILE_PATH), "locmem" (tests), "http"
# (the operator's provider: POST JSON to SMS_HTTP_URL with a bearer token), or "" for none.
# Development writes files under var/sms/ and prints them; production sends none until the
# operator names a backend, and the features that need SMS stay off (core.sms.sms_configured).
SMS_BACKEND = env.str("SMS_BACKEND", default="" if PRODUCTION else "file")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env.str("SMS_HTTP_TOKEN", default="")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
SMS_SENDER = env.str("SMS_SENDER", default="Loyalty")
if SMS_BACKEND not in ("", "console", "file", "locmem", "http"):
    raise ValueError(f"SMS_BACKEND={SMS_BACKEND!r}: use console, file, locmem, http or leave it empty")
if SMS_BACKEND == "http" and not (SMS_HTTP_URL and SMS_HTTP_TOKEN):
    raise ValueError("SMS_BACKEND=http needs SMS_HTTP_URL and SMS_HTTP_TOKEN")

# Campaign emails each organization may send per minute (campaigns.messages).
CAMPAIGN_MESSAGES_PER_MINUTE = env.int("CAMPAIGN_MESSAGES_PER_MINUTE", default=600)
# How often an open campaign run looks again for customers who entered its audience.
CAMPAIGN_AUDIENCE_RESCAN_SECONDS = env.int("CAMPAIGN_AUDIENCE_RESCAN_SECONDS", default=900)

# Point expiry (programs.expiry): cards per chunk, each chunk one transaction under the cards'
# locks (bench/expire_points.py measures the choice).
EXPIRY_CHUNK_CARDS = env.int("EXPIRY_CHUNK_CARDS", default=2000)
