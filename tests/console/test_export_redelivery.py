"""A long export build redelivered by the broker while the first still runs: the second
delivery waits for the first, finds the export finished and writes nothing."""

import threading
import zipfile

from django.db import connections

from tenants.models import Organization, OrganizationExport
from tenants.tasks import organization_export_build_task
from tests.conftest import ORGANIZATION_A


def test_two_deliveries_at_once_build_one_sound_export(committed_db, settings, tmp_path):
    settings.ORGANIZATION_EXPORT_ROOT = tmp_path
    organization = Organization.objects.get(slug=ORGANIZATION_A)
    export = OrganizationExport.objects.create(organization=organization, organization_slug=organization.slug)
    start = threading.Barrier(2)
    failures = []

    def deliver() -> None:
        try:
            start.wait()
            organization_export_build_task.apply(args=[export.pk]).get()
        except Exception as error:  # noqa: BLE001 - any failure of a thread is the test's
            failures.append(error)
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        export.refresh_from_db()
        files = sorted(path.name for path in tmp_path.iterdir())
        assert files == [export.file_name]
        with zipfile.ZipFile(tmp_path / export.file_name) as archive:
            assert archive.testzip() is None
            assert "organization.json" in archive.namelist()
    finally:
        OrganizationExport.objects.filter(pk=export.pk).delete()
