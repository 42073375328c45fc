"""The platform's background work in the public schema: building an organization's export,
purging the organizations whose deletion is due, and usage metering."""

from celery import shared_task
from django.db import transaction

from loyalty_platform.core.jobs import scheduled_job
from loyalty_platform.core.retention import platform_records_purge
from tenants.lifecycle import organization_export_build, organizations_purge_due
from tenants.limits import current_organization
from tenants.models import OrganizationExport
from tenants.notices import subscription_notices_send
from tenants.signup import signup_requests_purge
from tenants.usage import usage_flush, usage_measure


@shared_task(ignore_result=True)
def organization_export_build_task(export_id: int) -> None:
    # Locked for the build: a second delivery of this message (the broker redelivers a long
    # build) waits here, then finds it finished.
    with transaction.atomic():
        export = (
            OrganizationExport.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=export_id)
            .first()
        )
        # Gone with a purge, or already built by an earlier delivery of this message.
        if export is None or export.organization is None or export.is_finished:
            return
        organization_export_build(export=export)


@scheduled_job
def purge_due_organizations() -> dict[str, int]:
    """Beat, hourly: organizations past their deletion date whose export is built, one at a
    time (a purged one is gone, so a rerun does not see it again)."""
    return {"purged": len(organizations_purge_due())}


@scheduled_job
def purge_signup_requests() -> dict[str, int]:
    """Beat, daily: sign-ups never confirmed whose link expired a week ago."""
    return {"purged": signup_requests_purge()}


@scheduled_job
def flush_usage() -> dict[str, int]:
    """Beat, in the public schema, every few minutes: the usage counters into UsageDay."""
    return {"counters": usage_flush()}


@scheduled_job
def measure_usage() -> dict[str, int]:
    """Once a day per organization (core.tasks.dispatch_to_organizations), in its schema;
    measuring again the same day replaces the figures."""
    measured = usage_measure(organization=current_organization())
    return {"customers": measured.customers, "storage_bytes": measured.storage_bytes}


@scheduled_job
def notify_subscription_lapses() -> dict[str, int]:
    """Beat, hourly, in the public schema: owners are emailed before their organization's
    subscription lapses and when it has, each notice once (tenants.notices)."""
    return subscription_notices_send()


@scheduled_job
def purge_platform_records() -> dict[str, int]:
    """Beat, daily, in the public schema: the platform's own short-lived records past their
    retention (core.retention.platform_records_purge)."""
    return platform_records_purge()
