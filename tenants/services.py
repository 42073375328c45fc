import functools
import logging
import re
import secrets
import string
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context
from psycopg import sql

from loyalty_platform.core import errors
from loyalty_platform.core.metering import KEEP_SECONDS
from loyalty_platform.shops.models import Shop
from tenants.limits import plan_limit_reserve
from tenants.models import SLUG_PATTERN, ApiKey, Domain, OperatorAction, Organization, Plan, Subscription
from tenants.platform import is_valid_hostname, organization_hostname, platform_hostnames
from tenants.selectors import API_KEY_PREFIX, api_key_hash

logger = logging.getLogger(__name__)

# Host names a platform commonly needs for itself, or that would mislead customers.
RESERVED_SLUGS = frozenset(
    {
        *("www", "api", "admin", "app", "platform", "public", "template", "static", "media"),
        *("mail", "email", "smtp", "imap", "pop", "mx", "ns1", "ns2", "dns", "ftp", "webmail"),
        *("support", "help", "status", "billing", "signup", "login", "account", "accounts"),
        *("docs", "blog", "dashboard", "console", "operator", "security", "abuse", "root"),
    }
)
SIGNUP_SLUG_MIN_LENGTH = 3
PURGED_SLUG_HELD_FOR = timedelta(seconds=KEEP_SECONDS)
SLUG_MAX_LENGTH = 40
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
DEFAULT_PLAN_CODE = "standard"


class OrganizationError(ValueError):
    """Refused organization input; the message says why, `code` says which rule (slug_invalid,
    slug_too_short, slug_too_long, slug_reserved, slug_taken; organization_invalid otherwise)."""

    def __init__(self, message: str, code: str = "organization_invalid") -> None:
        super().__init__(message)
        self.code = code


@functools.cache
def _code_migrations() -> frozenset[tuple[str, str]]:
    """Every migration this code has, as (app, name); read from disk once per process."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def _template_is_current(template: str) -> bool:
    """Whether the template schema records every migration of this code (one query)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{template}".django_migrations'])
        if cursor.fetchone()[0] is None:
            return False
        cursor.execute(sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(template)))
        return _code_migrations() <= set(cursor.fetchall())


def template_schema_ensure(*, verbosity: int = 0) -> None:
    """Create the template schema if needed and bring it to the latest migrations.

    New organizations are cloned from it and their migrations faked, so it must never lag
    behind the code: this runs before every clone. When the template already records every
    migration of the code, one query says so; planning the migrations took 0.3-0.6 s."""
    template = settings.TENANT_BASE_SCHEMA
    if not (template and settings.TENANT_CREATION_FAKES_MIGRATIONS):
        return
    template_exists = schema_exists(template)
    if template_exists and _template_is_current(template):
        return
    if not template_exists:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    call_command(
        "migrate_schemas",
        schema_name=template,
        tenant=True,
        interactive=False,
        verbosity=verbosity,
    )
    connection.set_schema_to_public()


def _validate_slug(slug: str, *, min_length: int = 1) -> None:
    """Every rule of an organization's slug, in one place: the operator's commands and admin
    take 1-40 characters, sign-up asks for at least SIGNUP_SLUG_MIN_LENGTH. Taken means an
    organization has the slug, or `<slug>.<platform host>` is already some organization's
    domain (a custom domain may be any host name)."""
    if len(slug) > SLUG_MAX_LENGTH:
        raise OrganizationError(f"the slug {slug[:50]!r}… is longer than {SLUG_MAX_LENGTH}", "slug_too_long")
    if not re.match(SLUG_PATTERN, slug):
        raise OrganizationError(
            f"invalid slug {slug!r}: use lowercase letters, digits and single hyphens", "slug_invalid"
        )
    if len(slug) < min_length:
        raise OrganizationError(f"the slug {slug!r} is shorter than {min_length}", "slug_too_short")
    if slug in RESERVED_SLUGS or organization_hostname(slug) in platform_hostnames():
        raise OrganizationError(f"the slug {slug!r} is reserved", "slug_reserved")
    if (
        Organization.objects.filter(slug=slug).exists()
        or Organization.objects.filter(schema_name=Organization.schema_name_for_slug(slug)).exists()
        or Domain.objects.filter(domain=organization_hostname(slug)).exists()
    ):
        raise OrganizationError(f"an organization with slug {slug!r} already exists", "slug_taken")
    # A purged organization's schema name would come back with its slug, and with it what
    # Redis still keeps under that name (usage counters for 8 days, caches): not before then.
    if OperatorAction.objects.filter(
        action="purge", organization_slug=slug, created_at__gte=timezone.now() - PURGED_SLUG_HELD_FOR
    ).exists():
        raise OrganizationError(f"the slug {slug!r} belonged to an organization purged lately", "slug_taken")


def _validate_hostname(hostname: str) -> str:
    hostname = hostname.strip().lower().rstrip(".")
    if not is_valid_hostname(hostname):
        raise OrganizationError(f"invalid host name {hostname!r} (give a host without port or scheme)")
    if hostname in platform_hostnames():
        raise OrganizationError(f"{hostname} is the platform's own host")
    if Domain.objects.filter(domain=hostname).exists():
        raise OrganizationError(f"the host {hostname} already belongs to an organization")
    return hostname


def default_plan() -> Plan:
    plan, _ = Plan.objects.get_or_create(
        code=DEFAULT_PLAN_CODE, defaults={"name": "Standard", "monthly_price": 0}
    )
    return plan


def organization_create(
    *,
    slug: str,
    name: str,
    domains: list[str] | tuple[str, ...] = (),
    verification_preset: str = Organization.VerificationPreset.STANDARD,
    currency: str = "EUR",
    country: str = "",
    timezone_name: str = "UTC",
    language: str = "en",
    trial_days: int | None = None,
    slug_min_length: int = 1,
) -> Organization:
    """Create an organization: its schema cloned from the template, its primary host
    `<slug>.<platform host>` plus any custom domains, and a subscription on the default
    plan: open-ended, or trialing for `trial_days` (sign-up)."""
    slug = slug.strip().lower()
    _validate_slug(slug, min_length=slug_min_length)
    if not name.strip():
        raise OrganizationError("the organization needs a name")
    currency = currency.strip().upper()
    if not CURRENCY_PATTERN.match(currency):
        raise OrganizationError(f"invalid currency {currency!r}: use a three-letter ISO 4217 code")
    if verification_preset not in Organization.VerificationPreset.values:
        raise OrganizationError(
            f"invalid preset {verification_preset!r}: use one of "
            + ", ".join(Organization.VerificationPreset.values)
        )
    hostnames = [_validate_hostname(organization_hostname(slug))]
    for custom in domains:
        hostname = _validate_hostname(custom)
        if hostname not in hostnames:
            hostnames.append(hostname)

    template_schema_ensure()
    with transaction.atomic():
        organization = Organization(
            schema_name=Organization.schema_name_for_slug(slug),
            slug=slug,
            name=name.strip(),
            currency=currency,
            verification_preset=verification_preset,
            country=country,
            timezone=timezone_name,
            language=language,
        )
        organization.save(verbosity=0)
        for index, hostname in enumerate(hostnames):
            Domain.objects.create(domain=hostname, tenant=organization, is_primary=index == 0)
        if trial_days is None:
            Subscription.objects.create(organization=organization, plan=default_plan())
        else:
            Subscription.objects.create(
                organization=organization,
                plan=default_plan(),
                status=Subscription.Status.TRIALING,
                ends_at=timezone.now() + timedelta(days=trial_days),
            )
    logger.info("organization created: %s (schema %s)", slug, organization.schema_name)
    return organization


def organization_form_save(*, organization: Organization, form) -> Organization:
    """Save what an admin form edited, and only that: a whole-row save from a page loaded
    before an operator suspended the organization (or scheduled its deletion) would write the
    old status back and undo it (tenants.lifecycle owns the status fields)."""
    columns = {field.name for field in Organization._meta.concrete_fields}
    changed = [name for name in form.changed_data if name in columns]
    if organization.pk is None:
        organization.save()
    elif changed:
        organization.save(update_fields=changed)
    return organization


def organization_primary_hostname(*, organization: Organization) -> str:
    domain = organization.domains.filter(is_primary=True).first()
    return domain.domain if domain else organization_hostname(organization.slug)


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret_key: str


_KEY_ALPHABET = string.ascii_letters + string.digits


def api_key_shop_check(*, organization: Organization, shop_id: int | None) -> None:
    """A key's shop is one of the organization's shops. Shops live in the organization's
    schema and keys in the public one, so no foreign key can say it: this does
    (shop_id_invalid otherwise)."""
    if shop_id is None:
        return
    with tenant_context(organization):
        if not Shop.objects.filter(pk=shop_id).exists():
            raise errors.SHOP_ID_INVALID(field="shop_id")


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    label: str = "",
    shop_id: int | None = None,
    staff_user_id: int | None = None,
) -> IssuedApiKey:
    """Issue a key; the returned secret key is the only time the secret exists in clear.
    A browser till's key (`staff_user_id`) does not count against the plan's API keys."""
    api_key_shop_check(organization=organization, shop_id=shop_id)
    if staff_user_id is None:
        plan_limit_reserve(organization=organization, limit="api_keys")
    lookup_id = secrets.token_hex(6)
    secret = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(40))
    api_key = ApiKey.objects.create(
        organization=organization,
        lookup_id=lookup_id,
        secret_hash=api_key_hash(secret),
        label=label,
        shop_id=shop_id,
        staff_user_id=staff_user_id,
    )
    return IssuedApiKey(api_key=api_key, secret_key=f"{API_KEY_PREFIX}{lookup_id}_{secret}")


def api_key_update(*, api_key: ApiKey, label: str, shop_id: int | None, rate_limits: dict) -> ApiKey:
    api_key_shop_check(organization=api_key.organization, shop_id=shop_id)
    api_key.label, api_key.shop_id, api_key.rate_limits = label, shop_id, rate_limits
    api_key.save(update_fields=["label", "shop_id", "rate_limits"])
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


_TOUCH_EVERY_SECONDS = 60
# When this process last recorded each key's use (time.monotonic()).
_touched_at: dict[str, float] = {}


def api_key_touch(*, api_key_id: int, lookup_id: str) -> None:
    """Record use, at most once a minute per key and process, so a busy terminal costs no
    extra round trip. The update skips a row another process stamped within the minute, so
    several processes do not rewrite it either."""
    now = time.monotonic()
    last = _touched_at.get(lookup_id)
    if last is not None and now - last < _TOUCH_EVERY_SECONDS:
        return
    if len(_touched_at) >= 10_000:  # made-up ids never get here; this bounds real ones
        _touched_at.clear()
    _touched_at[lookup_id] = now
    stamped_at = timezone.now()
    stale = stamped_at - timedelta(seconds=_TOUCH_EVERY_SECONDS)
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=api_key_id).update(
        last_used_at=stamped_at
    )
