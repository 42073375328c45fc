"""The platform's background work in the public schema: building an organization's export,
purging the organizations whose deletion is due, and usage metering."""

from celery import shared_task
from django.db import transaction
from tenant_schemas_celery.task import TenantTask

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


@shared_task(ignore_result=True)
def purge_due_organizations() -> int:
    """Beat, hourly: organizations past their deletion date whose export is built."""
    return len(organizations_purge_due())


@shared_task(ignore_result=True)
def purge_signup_requests() -> int:
    """Beat, daily: sign-ups never confirmed whose link expired a week ago."""
    return signup_requests_purge()


@shared_task(base=TenantTask, ignore_result=True)
def flush_usage() -> int:
    """Beat, in the public schema, every few minutes: the usage counters into UsageDay."""
    return usage_flush()


@shared_task(base=TenantTask, ignore_result=True)
def measure_usage() -> None:
    """Once a day per organization (core.tasks.dispatch_to_organizations), in its schema."""
    usage_measure(organization=current_organization())


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
