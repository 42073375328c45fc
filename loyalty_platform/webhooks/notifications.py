"""The email telling an organization's owners that one of its webhook endpoints was disabled
after failing for WEBHOOK_DISABLE_AFTER_FAILING_DAYS (webhooks.delivery). Sent once, after
the commit that disabled it, to the active owners and the endpoint's creator, in the
organization's language and time zone."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from loyalty_platform.core.mail import email_build, email_language
from loyalty_platform.webhooks.models import WebhookAttempt, WebhookEndpoint
from tenants.models import Organization
from tenants.notices import organization_owner_emails
from tenants.platform import base_url
from tenants.services import organization_primary_hostname

logger = logging.getLogger(__name__)


def _recipients(organization: Organization, endpoint: WebhookEndpoint) -> list[str]:
    emails = set(organization_owner_emails(organization))
    creator = endpoint.created_by
    if creator is not None and creator.is_active and creator.email:
        emails.add(creator.email)
    return sorted(emails)


def _last_problem(endpoint: WebhookEndpoint) -> str:
    attempt = (
        WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
        .exclude(outcome=WebhookAttempt.Outcome.LOST)
        .order_by("-pk")
        .first()
    )
    if attempt is None:
        return ""
    if attempt.response_status is not None:
        return f"HTTP {attempt.response_status}"
    return attempt.error


def endpoint_disabled_email(
    organization: Organization, endpoint: WebhookEndpoint, recipients: list[str]
) -> EmailMultiAlternatives:
    """The message, in the organization's language (staff have no language of their own,
    decision 0058) and time zone."""
    hostname = organization_primary_hostname(organization=organization)

    def when(moment) -> str:
        return f"{date_format(timezone.localtime(moment), 'DATETIME_FORMAT')} ({organization.timezone})"

    with timezone.override(organization.timezone):
        return email_build(
            language=email_language(organization.language),
            template="webhooks/emails/endpoint_disabled",
            subject=lambda: _("A webhook endpoint of %(name)s was disabled") % {"name": organization.name},
            # Under the email's language: the dates' month names are words.
            context=lambda: {
                "endpoint": endpoint,
                "failing_since": when(endpoint.failing_since),
                "disabled_at": when(endpoint.disabled_at),
                "days": settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS,
                "last_problem": _last_problem(endpoint),
                "endpoint_url": f"{base_url(hostname)}/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
            },
            to=recipients,
            organization=organization,
        )


def endpoint_disabled_notify(*, organization: Organization, endpoint_id: int) -> bool:
    """Email the owners that the endpoint was disabled; False when nobody could be told (no
    recipient, or the mail server refused: logged, not retried)."""
    with tenant_context(organization):
        endpoint = WebhookEndpoint.objects.select_related("created_by").get(pk=endpoint_id)
        recipients = _recipients(organization, endpoint)
        if not recipients:
            logger.warning(
                "webhook endpoint %s of %s disabled: nobody to tell", endpoint_id, organization.slug
            )
            return False
        message = endpoint_disabled_email(organization, endpoint, recipients)
    try:
        # From the public schema: the platform's notice, not counted as the organization's email.
        with schema_context(get_public_schema_name()):
            message.send()
    except OSError as error:  # SMTP refused or unreachable
        logger.warning(
            "webhook endpoint %s of %s disabled, owners not told: %s",
            endpoint_id,
            organization.slug,
            type(error).__name__,
        )
        return False
    return True
