import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import caches
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from loyalty_platform.core.local_cache import LocalCache
from tenants.models import ApiKey, Organization, Plan, Subscription

# Two tiers (docs/decisions/0021-in-process-caches.md): a copy in this process, in front of
# the shared copy in Redis that a fresh process or one that cleared its own starts from.
_DOMAIN_CACHE_SECONDS = 300
_UNKNOWN_DOMAIN_CACHE_SECONDS = 30
_UNKNOWN = "unknown"

_local_domains = LocalCache("domains")
_local_api_keys = LocalCache("api keys")
_local_subscriptions = LocalCache("subscriptions")


def domain_cache_key(hostname: str) -> str:
    return f"domain:{hostname}"


def _platform_cache():
    return caches["platform"]


def _organization_to_cache(organization: Organization) -> dict:
    return {
        field.attname: getattr(organization, field.attname) for field in Organization._meta.concrete_fields
    }


def _organization_from_cache(values: dict) -> Organization:
    # A new object each time: requests set their own domain_url on it.
    return Organization.from_db("default", list(values), list(values.values()))


def _shared_organization_for_hostname(hostname: str) -> dict | str:
    key = domain_cache_key(hostname)
    cached = _platform_cache().get(key)
    if cached is None:
        organization = Organization.objects.filter(domains__domain=hostname, is_active=True).first()
        if organization is None:
            _platform_cache().set(key, _UNKNOWN, _UNKNOWN_DOMAIN_CACHE_SECONDS)
            return _UNKNOWN
        cached = _organization_to_cache(organization)
        _platform_cache().set(key, cached, _DOMAIN_CACHE_SECONDS)
    return cached


def organization_for_hostname(hostname: str) -> Organization | None:
    """The active organization a host name routes to, cached; None when unknown."""
    cached = _local_domains.get_or_load(hostname, lambda: _shared_organization_for_hostname(hostname))
    if cached == _UNKNOWN:
        return None
    return _organization_from_cache(cached)


def forget_hostnames(hostnames: list[str]) -> None:
    _local_domains.forget(hostnames)
    _platform_cache().delete_many([domain_cache_key(hostname) for hostname in hostnames])


def subscription_cache_key(organization_id: int) -> str:
    return f"subscriptions:{organization_id}"


# A cached period: (started_at, ends_at, the plan's field values).
_Period = tuple[datetime, datetime | None, dict]


def _periods(organization_id: int) -> list[_Period]:
    return _local_subscriptions.get_or_load(
        organization_id, lambda: _shared_subscription_periods(organization_id)
    )


def _covers(period: _Period, now: datetime) -> bool:
    started_at, ends_at, _plan = period
    return started_at <= now and (ends_at is None or now < ends_at)


def organization_subscription_is_active(*, organization: Organization) -> bool:
    """Whether a subscription covers this moment. The periods that cover now or later are
    cached, so a subscription that ends or starts later needs no new look-up when it does;
    subscription changes forget them (tenants.signals)."""
    now = timezone.now()
    return any(_covers(period, now) for period in _periods(organization.pk))


def organization_plan(*, organization: Organization) -> Plan | None:
    """The plan of the subscription covering this moment (the latest started, if several
    overlap), from the same cached periods; None when no subscription covers now."""
    now = timezone.now()
    covering = [period for period in _periods(organization.pk) if _covers(period, now)]
    if not covering:
        return None
    values = max(covering, key=lambda period: period[0])[2]
    return Plan.from_db("default", list(values), list(values.values()))


def _plan_to_cache(plan: Plan) -> dict:
    return {field.attname: getattr(plan, field.attname) for field in Plan._meta.concrete_fields}


def _shared_subscription_periods(organization_id: int) -> list[_Period]:
    key = subscription_cache_key(organization_id)
    periods = _platform_cache().get(key)
    if periods is None:
        periods = [
            (subscription.started_at, subscription.ends_at, _plan_to_cache(subscription.plan))
            for subscription in Subscription.objects.filter(
                Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now()),
                organization_id=organization_id,
                status__in=[Subscription.Status.ACTIVE, Subscription.Status.TRIALING],
            ).select_related("plan")
        ]
        _platform_cache().set(key, periods, _DOMAIN_CACHE_SECONDS)
    return periods


def forget_subscriptions(organization_ids: list[int]) -> None:
    _local_subscriptions.forget(organization_ids)
    _platform_cache().delete_many([subscription_cache_key(pk) for pk in organization_ids])


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
    # Compared at each call, so a cached copy stops working at the moment the key expires.
    expires_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


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


def _shared_api_key(lookup_id: str) -> dict | str:
    """The key as the shared cache or the database has it; `key` made an AuthenticatedApiKey."""
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
                    "expires_at": api_key.expires_at,
                },
                "secret_hash": api_key.secret_hash,
                "organization": _organization_to_cache(api_key.organization),
            }
        _platform_cache().set(cache_key, cached, _API_KEY_CACHE_SECONDS)
    if cached == _UNKNOWN:
        return cached
    return {**cached, "key": AuthenticatedApiKey(**cached["key"])}


def api_key_authenticate(raw_key: str) -> tuple[AuthenticatedApiKey, Organization] | None:
    """The key and its organization when `raw_key` is a live (not revoked, not expired) key
    of an active organization. Warm look-ups come from this process's memory (no round trip);
    revocation and changes forget them (tenants.signals); expiry needs no forgetting."""
    parsed = parse_api_key(raw_key)
    if parsed is None:
        return None
    lookup_id, secret = parsed
    cached = _local_api_keys.get_or_load(lookup_id, lambda: _shared_api_key(lookup_id))
    if cached == _UNKNOWN or not constant_time_compare(api_key_hash(secret), cached["secret_hash"]):
        return None
    if cached["key"].is_expired(timezone.now()):
        return None
    return cached["key"], _organization_from_cache(cached["organization"])


def forget_api_keys(lookup_ids: list[str]) -> None:
    _local_api_keys.forget(lookup_ids)
    _platform_cache().delete_many([api_key_cache_key(lookup_id) for lookup_id in lookup_ids])
