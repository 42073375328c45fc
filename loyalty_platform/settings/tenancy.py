"""django-tenants: which apps live in the public schema and which in every organization's."""

SHARED_APPS = [
    "tenants",
    "loyalty_platform.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    # OpClass in index expressions (the customers' trigram indexes); no models of its own.
    "django.contrib.postgres",
    # The merchant portal's theme: its templates override the admin's (docs/decisions/0027).
    "unfold",
    "django.contrib.admin.apps.SimpleAdminConfig",
    # After the admin, so Django's admin/index.html and app_list.html win over django-tenants'
    # (tenant colouring, meaningless with two admin sites), whose inline styles the
    # Content-Security-Policy blocks.
    "django_tenants",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "loyalty_platform.core",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin.apps.SimpleAdminConfig",
    "loyalty_platform.accounts",
    "loyalty_platform.shops",
    "loyalty_platform.customers",
    "loyalty_platform.programs",
    "loyalty_platform.coupons",
    "loyalty_platform.verification",
    "loyalty_platform.pos_api",
    "loyalty_platform.stored_value",
    "loyalty_platform.audit",
    "loyalty_platform.identification",
    "loyalty_platform.attributes",
    "loyalty_platform.rewards",
    "loyalty_platform.vouchers",
    "loyalty_platform.tiers",
    "loyalty_platform.orders",
    "loyalty_platform.branding",
    # Staff two-factor sign-in (TOTP devices live in the organization's schema).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "loyalty_platform.reports",
    "loyalty_platform.onboarding",
    "loyalty_platform.campaigns",
    "loyalty_platform.webhooks",
    "loyalty_platform.till",  # no models; its AppConfig connects the log-out receiver
    "loyalty_platform.wallet",  # no models; its AppConfig registers the credentials check
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"

# New organizations are cloned from this schema, which `migrate_platform` keeps migrated.
TENANT_BASE_SCHEMA = "template"
TENANT_CREATION_FAKES_MIGRATIONS = True

# Send `SET search_path` only when the schema changes, not before every query.
TENANT_LIMIT_SET_CALLS = True
