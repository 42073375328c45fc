from django.db import models


class IdempotencyRecord(models.Model):
    """The first successful response to an `external_id` on an endpoint, stored by the
    transaction of the action it answers (pos_api.idempotency)."""

    endpoint = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "external_id"], name="idempotency_endpoint_external_id"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.external_id}"
