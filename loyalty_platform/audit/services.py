from django.db import models

from loyalty_platform.audit.models import AuditLogEntry


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None,
    details: dict,
    target_type: str = "",
    target_repr: str = "",
) -> AuditLogEntry:
    """One entry of the audit log, written in the caller's transaction. A change of many
    objects at once (an import) names no target: give its type and a description instead."""
    return AuditLogEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label if target is not None else target_type,
        target_id=str(target.pk) if target is not None else "",
        target_repr=(str(target) if target is not None else target_repr)[:200],
        details=details,
    )
