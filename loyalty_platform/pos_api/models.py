from django.db import models


class IdempotencyRecord(models.Model):
    """The first successful response to an `external_id` on an endpoint. The unique
    constraint arbitrates concurrent duplicates: whoever inserts the row runs the call."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    endpoint = models.CharField(max_length=40)
    external_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    # Which execution owns the claim: a takeover increments it, and only the owner's
    # transaction may store the response (pos_api.idempotency.Claim).
    attempt = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "external_id"], name="idempotency_endpoint_external_id"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.external_id} ({self.status})"
