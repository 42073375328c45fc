from django.core.cache import caches
from django.db.models import Q
from django.utils import timezone

from tenants.models import Organization, Subscription

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


def organization_subscription_is_active(*, organization: Organization) -> bool:
    now = timezone.now()
    return Subscription.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        organization_id=organization.pk,
        status__in=[Subscription.Status.ACTIVE, Subscription.Status.TRIALING],
        started_at__lte=now,
    ).exists()
