from django.db import models


class AuditLogEntry(models.Model):
    """What a staff member did, to what, and why. Append-only."""

    actor = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit log"
        indexes = [
            # What happened to one record, newest first (a customer's history page).
            models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_idx")
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"
