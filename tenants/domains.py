"""Custom domains: an organization claims a host name, proves it holds it with a DNS TXT
record, and the name then routes to it (a non-primary tenants.Domain row).

The TXT record is looked up with dnspython against settings.DOMAIN_VERIFICATION_NAMESERVERS
("host:port" entries; empty: the machine's resolver), so the operator can point the check at
the resolver they trust, and tests at a DNS server of their own on the loopback."""

import ipaddress
import logging

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.models import CustomDomain, Domain, Organization
from tenants.platform import is_valid_hostname, platform_hostname, platform_hostnames

logger = logging.getLogger(__name__)

# What a failed check records in CustomDomain.last_error.
CHECK_ERRORS = {
    "txt_missing": "No TXT record at the name yet.",
    "txt_mismatch": "TXT records found, but none holds this claim's value.",
    "dns_timeout": "The resolver did not answer in time.",
    "dns_error": "The resolver failed to answer.",
    "hostname_claimed": "Another organization verified this host name first.",
}


class CustomDomainError(ValueError):
    """A refused claim; `code` says which, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _normalized_hostname(hostname: str) -> str:
    hostname = (hostname or "").strip().lower().rstrip(".")
    platform = platform_hostname()
    if hostname in platform_hostnames() or hostname.endswith(f".{platform}"):
        raise CustomDomainError(
            "hostname_platform", f"{hostname} is the platform's own host or under it, not a custom domain"
        )
    if not is_valid_hostname(hostname) or "." not in hostname:
        raise CustomDomainError(
            "hostname_invalid",
            f"{hostname!r} is not a host name: give one like loyalty.example.com, without scheme or port",
        )
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        raise CustomDomainError("hostname_invalid", f"{hostname} is an IP address, not a host name")
    return hostname


def _routed_elsewhere(hostname: str, organization: Organization) -> bool:
    return Domain.objects.filter(domain=hostname).exclude(tenant_id=organization.pk).exists()


def _verified_elsewhere(hostname: str, organization: Organization) -> bool:
    return (
        CustomDomain.objects.filter(hostname=hostname, verified_at__isnull=False)
        .exclude(organization_id=organization.pk)
        .exists()
    )


def custom_domain_check(*, organization: Organization, hostname: str) -> str:
    """The normalized host name if `organization` may claim it; CustomDomainError if not:
    not a host name, the platform's own or under it, any organization's routed host, a name
    another organization verified, or one this organization claimed already."""
    hostname = _normalized_hostname(hostname)
    if Domain.objects.filter(domain=hostname).exists():
        raise CustomDomainError("hostname_taken", f"the host {hostname} already routes to an organization")
    if _verified_elsewhere(hostname, organization):
        raise CustomDomainError("hostname_claimed", f"another organization verified {hostname}")
    if CustomDomain.objects.filter(organization=organization, hostname=hostname).exists():
        raise CustomDomainError("already_claimed", f"{hostname} is claimed by this organization already")
    return hostname


@transaction.atomic
def custom_domain_add(*, organization: Organization, hostname: str) -> CustomDomain:
    """A new, unverified claim of `organization` to `hostname` (custom_domain_check's rules).
    Several organizations may claim one name; the first to verify it gets it."""
    hostname = custom_domain_check(organization=organization, hostname=hostname)
    custom_domain = CustomDomain.objects.create(organization=organization, hostname=hostname)
    logger.info("custom domain claimed: %s by %s", hostname, organization.slug)
    return custom_domain


def _resolver() -> dns.resolver.Resolver:
    configured = settings.DOMAIN_VERIFICATION_NAMESERVERS
    resolver = dns.resolver.Resolver(configure=not configured)
    if configured:
        nameservers = []
        for entry in configured:
            host, _, port = entry.partition(":")  # IPv4 or a name, with an optional port
            nameservers.append(dns.nameserver.Do53Nameserver(host, int(port or 53)))
        resolver.nameservers = nameservers
    resolver.timeout = resolver.lifetime = settings.DOMAIN_VERIFICATION_TIMEOUT
    # A cached or remembered answer would hide a record just published.
    resolver.cache = None
    return resolver


def txt_check(custom_domain: CustomDomain) -> str:
    """Look up the claim's TXT record: "" when one of the answers is the claim's value,
    else the code of what went wrong (CHECK_ERRORS)."""
    try:
        answer = _resolver().resolve(custom_domain.record_name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return "txt_missing"
    except dns.exception.Timeout:
        return "dns_timeout"
    except dns.exception.DNSException:
        return "dns_error"
    # A long TXT value arrives as several strings of up to 255 bytes: one value joined.
    values = {b"".join(record.strings).decode(errors="replace").strip() for record in answer}
    return "" if custom_domain.record_value in values else "txt_mismatch"


def custom_domain_verify(*, custom_domain: CustomDomain) -> CustomDomain:
    """Check the claim's TXT record now. On success the claim is verified and its host name
    routes to the organization (a non-primary Domain); otherwise last_error says why. Every
    check is recorded in last_checked_at. A verified claim is left as it is."""
    if custom_domain.is_verified:
        return custom_domain
    problem = txt_check(custom_domain)  # outside the transaction: it may take seconds
    now = timezone.now()
    with transaction.atomic():
        claim = CustomDomain.objects.select_for_update().get(pk=custom_domain.pk)
        if not problem and (
            _verified_elsewhere(claim.hostname, claim.organization)
            or _routed_elsewhere(claim.hostname, claim.organization)
        ):
            problem = "hostname_claimed"
        claim.last_checked_at, claim.last_error = now, problem
        if not problem:
            claim.verified_at = now
            try:
                with transaction.atomic():
                    claim.save(update_fields=["last_checked_at", "last_error", "verified_at"])
                    domain, _ = Domain.objects.get_or_create(
                        domain=claim.hostname,
                        defaults={"tenant_id": claim.organization_id, "is_primary": False},
                    )
                    if domain.tenant_id != claim.organization_id:
                        raise IntegrityError("the host name was routed elsewhere meanwhile")
            except IntegrityError:
                # Another organization's claim verified at the same moment.
                claim.verified_at, claim.last_error = None, "hostname_claimed"
            else:
                logger.info("custom domain verified: %s", claim.hostname)
                return claim
        claim.save(update_fields=["last_checked_at", "last_error", "verified_at"])
    return claim


@transaction.atomic
def custom_domain_remove(*, custom_domain: CustomDomain) -> None:
    """Drop the claim, and the routing of its host name if it was verified (as the database
    has it now, not the object given)."""
    claim = CustomDomain.objects.select_for_update().filter(pk=custom_domain.pk).first()
    if claim is None:
        return
    if claim.is_verified:
        Domain.objects.filter(
            domain=claim.hostname, tenant_id=claim.organization_id, is_primary=False
        ).delete()
    claim.delete()
