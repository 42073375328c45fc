import hashlib
from dataclasses import dataclass, field

from django.core.cache import caches
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from tenants.models import ApiKey, Organization, Subscription

_DOMAIN_CACHE_SECONDS = 300
_UNKNOWN_DOMAIN_CACHE_SECONDS = 30
_UNKNOWN = "unknown"


def domain_cache_key(hostname: str) -> str:
    return f"domain:{hostname}"


def _platform_cache():
    return caches["platform"]


def _organization_to_cache(organization: Organization) -> dict:
    return {
        field.attname: getattr(organization, field.attname) for field in Organization._meta.concrete_fields
    }


def _organization_from_cache(values: dict) -> Organization:
    return Organization.from_db("default", list(values), list(values.values()))


def organization_for_hostname(hostname: str) -> Organization | None:
    """The active organization a host name routes to, cached in Redis; None when unknown."""
    key = domain_cache_key(hostname)
    cached = _platform_cache().get(key)
    if cached is None:
        organization = Organization.objects.filter(domains__domain=hostname, is_active=True).first()
        if organization is None:
            _platform_cache().set(key, _UNKNOWN, _UNKNOWN_DOMAIN_CACHE_SECONDS)
            return None
        _platform_cache().set(key, _organization_to_cache(organization), _DOMAIN_CACHE_SECONDS)
        return organization
    if cached == _UNKNOWN:
        return None
    return _organization_from_cache(cached)


def forget_hostnames(hostnames: list[str]) -> None:
    _platform_cache().delete_many([domain_cache_key(hostname) for hostname in hostnames])


def subscription_cache_key(organization_id: int) -> str:
    return f"subscription:{organization_id}"


def organization_subscription_is_active(*, organization: Organization) -> bool:
    """Cached for a minute; subscription changes forget it (tenants.signals)."""
    key = subscription_cache_key(organization.pk)
    cached = _platform_cache().get(key)
    if cached is None:
        cached = _subscription_is_active(organization)
        _platform_cache().set(key, cached, 60)
    return cached


def _subscription_is_active(organization: Organization) -> bool:
    now = timezone.now()
    return Subscription.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        organization_id=organization.pk,
        status__in=[Subscription.Status.ACTIVE, Subscription.Status.TRIALING],
        started_at__lte=now,
    ).exists()


API_KEY_PREFIX = "sk_live_"
_API_KEY_CACHE_SECONDS = 300


def api_key_cache_key(lookup_id: str) -> str:
    return f"apikey:{lookup_id}"


@dataclass(frozen=True)
class AuthenticatedApiKey:
    id: int
    lookup_id: str
    organization_id: int
    shop_id: int | None
    rate_limits: dict = field(default_factory=dict)


def api_key_hash(secret: str) -> str:
    # The secret is 40 random characters (~238 bits), so a fast hash is enough.
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(raw_key: str) -> tuple[str, str] | None:
    if not raw_key.startswith(API_KEY_PREFIX) or len(raw_key) > 100:
        return None
    lookup_id, _, secret = raw_key[len(API_KEY_PREFIX) :].partition("_")
    if len(lookup_id) != 12 or not secret:
        return None
    return lookup_id, secret


def api_key_authenticate(raw_key: str) -> tuple[AuthenticatedApiKey, Organization] | None:
    """The key and its organization when `raw_key` is a live key of an active organization.
    Warm look-ups come from Redis (no database query); revocation and changes forget them."""
    parsed = parse_api_key(raw_key)
    if parsed is None:
        return None
    lookup_id, secret = parsed
    cache_key = api_key_cache_key(lookup_id)
    cached = _platform_cache().get(cache_key)
    if cached is None:
        api_key = ApiKey.objects.select_related("organization").filter(lookup_id=lookup_id).first()
        if api_key is None or api_key.revoked_at is not None or not api_key.organization.is_active:
            cached = _UNKNOWN
        else:
            cached = {
                "key": {
                    "id": api_key.pk,
                    "lookup_id": api_key.lookup_id,
                    "organization_id": api_key.organization_id,
                    "shop_id": api_key.shop_id,
                    "rate_limits": api_key.rate_limits,
                },
                "secret_hash": api_key.secret_hash,
                "organization": _organization_to_cache(api_key.organization),
            }
        _platform_cache().set(cache_key, cached, _API_KEY_CACHE_SECONDS)
    if cached == _UNKNOWN or not constant_time_compare(api_key_hash(secret), cached["secret_hash"]):
        return None
    return AuthenticatedApiKey(**cached["key"]), _organization_from_cache(cached["organization"])


def forget_api_keys(lookup_ids: list[str]) -> None:
    _platform_cache().delete_many([api_key_cache_key(lookup_id) for lookup_id in lookup_ids])
