"""One-time links from the platform host into an organization's portal (tenants.models.
PortalHandoff): the session cookie belongs to the organization's host, so the platform host
cannot sign anyone in there itself. The link is made and spent within seconds by the same
browser (a redirect), never sent by email."""

import secrets
from datetime import timedelta

from django.utils import timezone

from loyalty_platform.core.tokens import token_hash
from tenants.models import Organization, PortalHandoff
from tenants.platform import base_url

HANDOFF_SECONDS = 120


def handoff_issue(
    *,
    organization: Organization,
    purpose: str,
    staff_email: str,
    operator_email: str = "",
    reason: str = "",
) -> str:
    """The URL, on the organization's host, that signs `staff_email` in once."""
    from tenants.services import organization_primary_hostname

    if purpose not in PortalHandoff.Purpose.values:
        raise ValueError(purpose)
    token = secrets.token_urlsafe(32)
    PortalHandoff.objects.create(
        organization=organization,
        token_hash=token_hash(token),
        purpose=purpose,
        staff_email=staff_email,
        operator_email=operator_email,
        reason=reason[:255],
        expires_at=timezone.now() + timedelta(seconds=HANDOFF_SECONDS),
    )
    hostname = organization_primary_hostname(organization=organization)
    return f"{base_url(hostname)}/admin/handoff/{token}/"


def handoff_redeem(*, organization: Organization, token: str) -> PortalHandoff | None:
    """Spend the link: the handoff when it is this organization's, unused and unexpired
    (a conditional update, so two requests with one token cannot both get it); else None."""
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    now = timezone.now()
    spent = PortalHandoff.objects.filter(
        token_hash=digest, organization_id=organization.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not spent:
        return None
    return PortalHandoff.objects.get(token_hash=digest)
