from django.db import models

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core import errors

REASON_MAX_LENGTH = 255


def staff_reason(reason: str | None) -> str:
    """The reason a staff member gave for a status change, as its audit record keeps it;
    reason_required when there is none."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.REASON_REQUIRED()
    return reason[:REASON_MAX_LENGTH]


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
