"""Deletion with a grace period: scheduling suspends the organization and requests an
export; the purge waits for the due date and a built export; cancelling restores."""

import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.celery import app as celery_app
from loyalty_platform.customers.models import Customer
from tenants.lifecycle import (
    LifecycleError,
    export_path,
    organization_deletion_schedule,
    organization_export_build,
    organization_reactivate,
    organizations_purge_due,
)
from tenants.models import ApiKey, Domain, OperatorAction, Organization, OrganizationExport, Subscription
from tenants.services import organization_create
from tenants.tasks import organization_export_build_task, purge_due_organizations
from tests.pos_fixtures import PosClient, create_customer, create_programs, issue_key


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.ORGANIZATION_EXPORT_ROOT = tmp_path / "exports"
    return settings.ORGANIZATION_EXPORT_ROOT


@pytest.fixture
def doomed(db) -> Organization:
    """An organization of this test (its schema goes with the test's transaction)."""
    organization = organization_create(slug="doomed", name="Doomed Café")
    create_programs(organization)
    return organization


def _reload(organization: Organization) -> Organization | None:
    return Organization.objects.filter(pk=organization.pk).first()


@pytest.fixture
def tasks_in_process():
    """Celery runs tasks where they are sent (the real tasks, without a worker)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_scheduling_suspends_sets_the_due_date_and_builds_the_export_after_commit(
    doomed, operator, django_capture_on_commit_callbacks, tasks_in_process
):
    key = issue_key(doomed)
    started = timezone.now()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = organization_deletion_schedule(
            organization=doomed, reason="Closed the shop", operator=operator
        )
    assert not OrganizationExport.objects.get(pk=export.pk).is_finished
    for callback in callbacks:
        callback()

    organization = _reload(doomed)
    assert (organization.status, organization.status_reason, organization.is_suspended) == (
        "deletion_scheduled",
        "Closed the shop",
        True,
    )
    grace = timedelta(days=settings.ORGANIZATION_DELETION_GRACE_DAYS)
    assert started + grace <= organization.deletion_due_at <= timezone.now() + grace
    assert settings.ORGANIZATION_DELETION_GRACE_DAYS == 30
    export.refresh_from_db()
    assert (export.organization_id, export.is_finished, export_path(export) is not None) == (
        doomed.pk,
        True,
        True,
    )
    response = PosClient("localhost", key).get("/webhook/customer", {"code": "123456"})
    assert (response.status_code, response.json()) == (403, {"error": "organization_suspended"})
    with tenant_context(doomed):
        entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.details["reason"], entry.details["export_id"]) == (
        "platform.deletion_schedule",
        "Closed the shop",
        export.pk,
    )
    with pytest.raises(LifecycleError):
        organization_deletion_schedule(organization=doomed, reason="twice", operator=operator)


def test_the_export_holds_this_organizations_customers_and_ledger_only(doomed, organization, operator):
    ours = create_customer(doomed, email="ours@example.com", points=40)
    theirs = create_customer(organization, email="theirs@example.com", points=99)
    export = organization_deletion_schedule(organization=doomed, reason="Closed", operator=operator)

    organization_export_build_task.apply(args=[export.pk])

    export.refresh_from_db()
    path = export_path(export)
    assert export.is_finished and path is not None and export.size_bytes == path.stat().st_size
    assert path.parent == settings.ORGANIZATION_EXPORT_ROOT and path.name.startswith("doomed-")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        public = json.loads(archive.read("organization.json"))
        customers = json.loads(archive.read("customers.customer.json"))
        ledger = json.loads(archive.read("programs.ledgerentry.json"))
        staff = json.loads(archive.read("accounts.user.json"))
    assert {
        "organization.json",
        "customers.customer.json",
        "programs.card.json",
        "audit.auditlogentry.json",
    } <= names
    assert not any(name.startswith(("otp_totp.", "sessions.", "auth.")) for name in names)
    assert public["organization"]["slug"] == "doomed"
    assert public["domains"] == [{"domain": "doomed.localhost", "is_primary": True}]
    assert [row["fields"]["email"] for row in customers] == ["ours@example.com"]
    assert [(row["fields"]["delta"], row["fields"]["balance_after"]) for row in ledger] == [(40, 40)]
    assert all("password" not in row["fields"] for row in staff)
    assert theirs.pk  # the other organization's customer exists, but not in this export
    assert ours.pk == customers[0]["pk"]

    # Delivered twice, the task builds once.
    organization_export_build_task.apply(args=[export.pk])
    assert sorted(p.name for p in settings.ORGANIZATION_EXPORT_ROOT.iterdir()) == [path.name]


def _checks_done() -> None:
    """The schedule and the purge run in transactions of their own; in one test transaction
    the schedule's deferred foreign-key checks are still pending, and PostgreSQL drops no
    table with pending checks. This runs them now, as the schedule's commit would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _counts(organization: Organization) -> tuple:
    return (
        Domain.objects.filter(tenant_id=organization.pk).count(),
        ApiKey.objects.filter(organization_id=organization.pk).count(),
        Subscription.objects.filter(organization_id=organization.pk).count(),
        schema_exists(organization.schema_name),
    )


def test_nothing_is_purged_before_the_due_date_or_without_an_export(doomed, operator):
    issue_key(doomed)
    export = organization_deletion_schedule(organization=doomed, reason="Closed", operator=operator)
    due = _reload(doomed).deletion_due_at

    # Due, but the export was never built.
    with time_machine.travel(due + timedelta(days=1), tick=False):
        assert organizations_purge_due() == []
    assert _counts(doomed) == (1, 1, 1, True)

    organization_export_build(export=export)
    # Exported, but a minute before the due date.
    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        assert purge_due_organizations.apply().get() == {"purged": 0}
    assert _counts(doomed) == (1, 1, 1, True) and _reload(doomed).status == "deletion_scheduled"

    # Exported, but the file is gone: not purged either.
    moved = export_path(export).rename(export_path(export).with_suffix(".moved"))
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        assert organizations_purge_due() == []
    moved.rename(moved.with_suffix(".zip"))


def test_after_the_due_date_with_an_export_the_schema_and_public_rows_go(doomed, organization, operator):
    issue_key(doomed)
    export = organization_deletion_schedule(organization=doomed, reason="Closed", operator=operator)
    organization_export_build(export=export)
    due = _reload(doomed).deletion_due_at
    _checks_done()

    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        assert purge_due_organizations.apply().get() == {"purged": 1}

    assert _reload(doomed) is None
    assert _counts(doomed) == (0, 0, 0, False)
    export.refresh_from_db()
    assert export.organization_id is None and export_path(export) is not None  # the export stays
    # And a last one, of the data as it was dropped (the first is from the grace period's start).
    final = OrganizationExport.objects.filter(organization_slug="doomed").exclude(pk=export.pk).get()
    assert final.requested_at > export.requested_at and export_path(final) is not None
    assert list(
        OperatorAction.objects.filter(organization_slug="doomed").values_list("action", flat=True)
    ) == [
        "purge",
        "deletion_schedule",
    ]
    # The other organizations are untouched.
    assert schema_exists(organization.schema_name) and _reload(organization).status == "active"


def test_cancelling_within_the_grace_period_restores_the_organization(doomed, operator):
    key = issue_key(doomed)
    customer = create_customer(doomed, points=5)
    export = organization_deletion_schedule(organization=doomed, reason="Closed", operator=operator)
    organization_export_build(export=export)

    organization_reactivate(organization=doomed, reason="Changed their mind", operator=operator)

    restored = _reload(doomed)
    assert (restored.status, restored.deletion_due_at, restored.status_reason) == ("active", None, "")
    with time_machine.travel(timezone.now() + timedelta(days=60), tick=False):
        assert organizations_purge_due() == []
    assert _counts(doomed) == (1, 1, 1, True)
    response = PosClient("localhost", key).get("/webhook/customer", {"code": customer.customer_code})
    assert response.status_code == 200
    with tenant_context(doomed):
        assert Customer.objects.filter(pk=customer.pk).exists()


def test_an_export_from_before_a_cancelled_deletion_does_not_let_a_new_one_purge_early(doomed, operator):
    first = organization_deletion_schedule(organization=doomed, reason="Closed", operator=operator)
    organization_export_build(export=first)
    organization_reactivate(organization=doomed, reason="Back", operator=operator)
    with time_machine.travel(timezone.now() + timedelta(seconds=1), tick=False):
        organization_deletion_schedule(organization=doomed, reason="Closed for good", operator=operator)
    due = _reload(doomed).deletion_due_at

    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        assert organizations_purge_due() == []
    assert schema_exists(doomed.schema_name)


def test_the_console_schedules_and_the_operator_downloads_the_export(console, doomed):
    response = console.post(
        f"/admin/tenants/organization/{doomed.pk}/schedule-deletion/", {"reason": "Closed"}
    )
    assert response.status_code == 302
    export = OrganizationExport.objects.get(organization=doomed)
    download = f"/admin/tenants/organization/exports/{export.pk}/download/"
    assert console.get(download).status_code == 404  # not built yet

    organization_export_build(export=export)

    page = console.get(f"/admin/tenants/organization/{doomed.pk}/change/").content.decode()
    assert download in page and f"/admin/tenants/organization/{doomed.pk}/reactivate/" in page
    response = console.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{export.file_name}"'
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert list(
        OperatorAction.objects.filter(action="export_download").values_list(
            "operator_email", "organization_slug"
        )
    ) == [("operator@example.com", "doomed")]
    assert console.get("/admin/tenants/organizationexport/").status_code == 200
