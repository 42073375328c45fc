from django.db import models

from loyalty_platform.audit.models import AuditLogEntry


def audit_record(*, actor, action: str, target: models.Model, details: dict) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label,
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        details=details,
    )
