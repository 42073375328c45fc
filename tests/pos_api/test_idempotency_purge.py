from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.pos_api.models import IdempotencyRecord
from loyalty_platform.pos_api.tasks import purge_idempotency_records


def test_records_older_than_the_retention_are_purged_and_recent_ones_kept(organization, settings):
    with tenant_context(organization):
        old = IdempotencyRecord.objects.create(endpoint="pos", external_id="old", request_hash="h")
        kept = IdempotencyRecord.objects.create(endpoint="pos", external_id="kept", request_hash="h")
        IdempotencyRecord.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(days=settings.IDEMPOTENCY_KEEP_DAYS, minutes=1)
        )
        IdempotencyRecord.objects.filter(pk=kept.pk).update(created_at=timezone.now() - timedelta(days=30))

        purged = purge_idempotency_records.apply().get()

        assert purged == {"purged": 1}
        assert list(IdempotencyRecord.objects.values_list("external_id", flat=True)) == ["kept"]
