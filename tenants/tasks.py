"""The console's background work: building an organization's export, purging the
organizations whose deletion is due. Both run in the public schema."""

from celery import shared_task

from tenants.lifecycle import organization_export_build, organizations_purge_due
from tenants.models import OrganizationExport


@shared_task(ignore_result=True)
def organization_export_build_task(export_id: int) -> None:
    export = OrganizationExport.objects.select_related("organization").filter(pk=export_id).first()
    # Gone with a purge, or already built by an earlier delivery of this message.
    if export is None or export.organization is None or export.is_finished:
        return
    organization_export_build(export=export)


@shared_task(ignore_result=True)
def purge_due_organizations() -> int:
    """Beat, hourly: organizations past their deletion date whose export is built."""
    return len(organizations_purge_due())
