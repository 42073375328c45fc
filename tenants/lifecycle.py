"""An organization's life after creation, as the operator's console drives it: suspension,
reactivation, deletion with a grace period (an export first, the purge later) and support
sessions in its portal. Every action writes an OperatorAction row (the console's trail)
and, while the schema exists, a record in the organization's own audit log, so the
merchant sees what the platform did and why (docs/decisions/0035-suspension.md)."""

import io
import json
import logging
import secrets
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.services import staff_invite
from loyalty_platform.audit.services import audit_record, staff_reason
from tenants.handoff import handoff_issue
from tenants.models import OperatorAction, Organization, OrganizationExport, Plan, PortalHandoff
from tenants.services import organization_create

logger = logging.getLogger(__name__)

Status = Organization.Status

# Tenant apps whose tables hold structure, not the merchant's data (permissions, content
# types, sessions), or secrets (two-factor devices): left out of the export.
_EXPORT_SKIPPED_APPS = frozenset({"contenttypes", "auth", "sessions", "messages", "otp_totp", "admin"})
# Fields never exported: secrets that mean nothing outside this platform.
_EXPORT_SKIPPED_FIELDS = {"accounts.user": {"password"}}


class LifecycleError(ValueError):
    """A refused operator action (wrong state); the message says why."""


def _operator_email(operator: User | None) -> str:
    return operator.email if operator is not None else ""


def _record(
    *,
    organization: Organization,
    operator: User | None,
    action: str,
    reason: str,
    details: dict | None = None,
) -> OperatorAction:
    """The trail of one operator action: in the public schema, and in the organization's
    audit log (actor: none, the operator named in the details) for the merchant to read."""
    details = dict(details or {})
    entry = OperatorAction.objects.create(
        organization=organization,
        organization_slug=organization.slug,
        operator_email=_operator_email(operator),
        action=action,
        reason=reason,
        details=details,
    )
    with tenant_context(organization):
        audit_record(
            actor=None,
            action=f"platform.{action}",
            target=None,
            target_type="organization",
            target_repr=organization.name,
            details={"operator": entry.operator_email, "reason": reason, **details},
        )
    return entry


def _status_set(*, organization: Organization, status: str, reason: str, due: datetime | None) -> None:
    organization.status = status
    organization.status_reason = reason
    organization.status_changed_at = timezone.now()
    organization.deletion_due_at = due
    # A save, so tenants.signals forgets the cached copies of the organization that the
    # host and key look-ups keep (they carry the status). django-tenants saves an
    # organization only from the public schema or its own.
    with schema_context(get_public_schema_name()):
        organization.save(update_fields=["status", "status_reason", "status_changed_at", "deletion_due_at"])


def _locked(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


def organization_open(
    *, slug: str, name: str, country: str, plan: Plan, owner_email: str, operator: User | None
) -> tuple[Organization, str]:
    """An organization made from the console for a merchant: created as sign-up does
    (tenants.services.organization_create) on `plan`, its owner invited by email (the link
    is returned too). OrganizationError when the slug or name is refused, StaffError when the
    owner's email is: all or nothing, so no organization is left without its owner."""
    with transaction.atomic():
        organization = organization_create(slug=slug, name=name)
        organization.country = country.upper()
        organization.save(update_fields=["country"])
        for subscription in organization.subscriptions.all():
            subscription.plan = plan
            subscription.save(update_fields=["plan"])
        with tenant_context(organization):
            invite_url = staff_invite(
                organization=organization, email=owner_email, role=roles.OWNER, invited_by=None
            )
        OperatorAction.objects.create(
            organization=organization,
            organization_slug=organization.slug,
            operator_email=_operator_email(operator),
            action="create",
            details={"plan": plan.code, "owner": owner_email.lower()},
        )
    logger.info("organization opened from the console: %s", organization.slug)
    return organization, invite_url


def organization_suspend(*, organization: Organization, reason: str, operator: User | None) -> Organization:
    """Suspend: the POS API answers organization_suspended, the portal turns read-only with
    a banner saying why, customers still see their balances. reason_required without one."""
    reason = staff_reason(reason)
    with transaction.atomic():
        locked = _locked(organization)
        if locked.status != Status.ACTIVE:
            raise LifecycleError(f"{locked.slug} is not active ({locked.get_status_display()})")
        _status_set(organization=locked, status=Status.SUSPENDED, reason=reason, due=None)
        _record(organization=locked, operator=operator, action="suspend", reason=reason)
    logger.info("organization suspended: %s", locked.slug)
    return locked


def organization_reactivate(
    *, organization: Organization, reason: str, operator: User | None
) -> Organization:
    """Back to active, from suspended or from a scheduled deletion (which it cancels)."""
    reason = staff_reason(reason)
    with transaction.atomic():
        locked = _locked(organization)
        if locked.status == Status.ACTIVE:
            raise LifecycleError(f"{locked.slug} is already active")
        previous = locked.status
        _status_set(organization=locked, status=Status.ACTIVE, reason="", due=None)
        _record(
            organization=locked,
            operator=operator,
            action="reactivate",
            reason=reason,
            details={"previous_status": previous},
        )
    logger.info("organization reactivated: %s", locked.slug)
    return locked


def organization_deletion_schedule(
    *, organization: Organization, reason: str, operator: User | None
) -> OrganizationExport:
    """Schedule the deletion: suspended at once, purged ORGANIZATION_DELETION_GRACE_DAYS
    later, and only once the export this requests (a Celery task, on commit) is built.
    Reactivating within the grace period cancels it."""
    # The task module imports this one.
    from tenants.tasks import organization_export_build_task

    reason = staff_reason(reason)
    with transaction.atomic():
        locked = _locked(organization)
        if locked.status == Status.DELETION_SCHEDULED:
            raise LifecycleError(f"the deletion of {locked.slug} is already scheduled")
        due = timezone.now() + timedelta(days=settings.ORGANIZATION_DELETION_GRACE_DAYS)
        _status_set(organization=locked, status=Status.DELETION_SCHEDULED, reason=reason, due=due)
        export = OrganizationExport.objects.create(organization=locked, organization_slug=locked.slug)
        _record(
            organization=locked,
            operator=operator,
            action="deletion_schedule",
            reason=reason,
            details={"due": due.isoformat(), "export_id": export.pk},
        )
        transaction.on_commit(lambda: organization_export_build_task.delay(export.pk))
    logger.info("organization deletion scheduled: %s", locked.slug)
    return export


def export_models() -> list[type[Model]]:
    """The models of an organization's schema whose rows make its export, in a fixed order."""
    labels = {
        config.label
        for config in apps.get_app_configs()
        # An entry may name the app's module or its AppConfig ("...admin.apps.SimpleAdminConfig").
        if any(
            entry == config.name or entry.startswith(f"{config.name}.apps.") for entry in settings.TENANT_APPS
        )
    }
    return sorted(
        (
            model
            for model in apps.get_models()
            if model._meta.app_label in labels - _EXPORT_SKIPPED_APPS
            and model._meta.managed
            and not model._meta.proxy
        ),
        key=lambda model: model._meta.label_lower,
    )


def _public_rows(organization: Organization) -> dict:
    return {
        "organization": {
            field: getattr(organization, field)
            for field in (
                "slug",
                "name",
                "schema_name",
                "currency",
                "country",
                "timezone",
                "language",
                "status",
                "status_reason",
                "created_at",
                "deletion_due_at",
            )
        },
        "domains": list(organization.domains.values("domain", "is_primary")),
        "subscriptions": list(
            organization.subscriptions.values("plan__code", "status", "started_at", "ends_at")
        ),
        "api_keys": list(organization.api_keys.values("lookup_id", "label", "created_at", "revoked_at")),
    }


def organization_export_build(*, export: OrganizationExport) -> OrganizationExport:
    """Write the export: organization.json (its public rows) and one JSON file per model of
    its schema (Django's serializer format), zipped under ORGANIZATION_EXPORT_ROOT. The zip
    appears under its final name only when complete. Building it again replaces it."""
    organization = export.organization
    if organization is None:
        raise LifecycleError("the organization of this export no longer exists")
    root = Path(settings.ORGANIZATION_EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    file_name = f"{organization.slug}-{export.requested_at:%Y%m%dT%H%M%S}-{export.pk}.zip"
    # A name of this build's own: another build of the same export never writes into it.
    partial = root / f"{file_name}.{secrets.token_hex(4)}.part"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "organization.json", json.dumps(_public_rows(organization), cls=DjangoJSONEncoder, indent=1)
        )
        with tenant_context(organization):
            for model in export_models():
                label = model._meta.label_lower
                skipped = _EXPORT_SKIPPED_FIELDS.get(label, set())
                fields = [
                    f.name for f in model._meta.local_fields if not f.primary_key and f.name not in skipped
                ]
                fields += [f.name for f in model._meta.local_many_to_many if f.name not in skipped]
                with (
                    archive.open(f"{label}.json", "w") as raw,
                    io.TextIOWrapper(raw, encoding="utf-8") as text,
                ):
                    serializers.serialize(
                        "json",
                        model.objects.order_by("pk").iterator(chunk_size=2000),
                        stream=text,
                        fields=fields,
                    )
    with zipfile.ZipFile(partial) as archive:
        broken = archive.testzip()
    if broken is not None:
        partial.unlink()
        raise LifecycleError(f"the export {file_name} came out broken at {broken}")
    partial.replace(root / file_name)
    export.file_name = file_name
    export.size_bytes = (root / file_name).stat().st_size
    export.finished_at = timezone.now()
    export.save(update_fields=["file_name", "size_bytes", "finished_at"])
    logger.info("organization export built: %s (%s bytes)", file_name, export.size_bytes)
    return export


def export_path(export: OrganizationExport) -> Path | None:
    """The finished export's file, when it is there."""
    if not export.is_finished or not export.file_name:
        return None
    path = Path(settings.ORGANIZATION_EXPORT_ROOT) / export.file_name
    return path if path.is_file() else None


def organization_export_open(*, export: OrganizationExport, operator: User | None) -> Path | None:
    """The finished export's file for an operator to download (None when there is none);
    the download is in the console's trail."""
    path = export_path(export)
    if path is not None:
        OperatorAction.objects.create(
            organization=export.organization,
            organization_slug=export.organization_slug,
            operator_email=_operator_email(operator),
            action="export_download",
            details={"export_id": export.pk, "file": export.file_name},
        )
    return path


def organization_purge_ready(*, organization: Organization, now: datetime) -> bool:
    """Due and exported: scheduled for deletion, the due date passed, and an export requested
    since the schedule finished (and its file is there)."""
    if organization.status != Status.DELETION_SCHEDULED or organization.deletion_due_at is None:
        return False
    if organization.deletion_due_at > now:
        return False
    exports = organization.exports.filter(
        finished_at__isnull=False, requested_at__gte=organization.status_changed_at
    )
    return any(export_path(export) is not None for export in exports)


def organizations_purge_due(*, now: datetime | None = None) -> list[str]:
    """Purge every organization whose deletion is due and whose export is built, after a
    final export; returns their slugs. Never one before its due date, never one without an
    export."""
    now = now or timezone.now()
    purged = []
    candidates = Organization.objects.filter(status=Status.DELETION_SCHEDULED, deletion_due_at__lte=now)
    for organization in candidates:
        if not organization_purge_ready(organization=organization, now=now):
            continue
        # The export from the start of the grace period may lag what its jobs (and its
        # customers' own requests) changed since: a last one, of the data as it is dropped.
        final = OrganizationExport.objects.create(
            organization=organization, organization_slug=organization.slug
        )
        try:
            organization_export_build(export=final)
        except (LifecycleError, OSError):
            logger.exception("final export of %s failed; not purged this time", organization.slug)
            continue
        organization_purge(organization=organization, now=now)
        purged.append(organization.slug)
    return purged


def organization_purge(*, organization: Organization, now: datetime) -> None:
    """Drop the schema and the organization's public rows (domains, keys, subscriptions,
    usage, handoffs); the console's trail and the export stay."""
    with transaction.atomic():
        locked = _locked(organization)
        if not organization_purge_ready(organization=locked, now=now):
            raise LifecycleError(f"{locked.slug} is not due for purging")
        OperatorAction.objects.create(
            organization=locked,
            organization_slug=locked.slug,
            action="purge",
            reason=locked.status_reason,
            details={"schema": locked.schema_name},
        )
        # TenantMixin.delete drops the schema with force_drop; the cascade takes the public rows.
        locked.delete(force_drop=True)
    logger.info("organization purged: %s", organization.slug)


SUPPORT_NAME = "Platform support"


def support_account_ensure(*, organization: Organization, operator: User) -> User:
    """The operator's support account in the organization's schema: an owner (support
    must see what the owner sees), marked is_platform_support, with no password (it signs in
    only through a console link). An address that belongs to the merchant's own staff is
    refused, never taken over."""
    email = operator.email.lower()
    with tenant_context(organization):
        user = User.objects.filter(email__iexact=email).first()
        if user is not None and not user.is_platform_support:
            raise LifecycleError(f"{email} is a staff member of {organization.slug}, not a support account")
        if user is None:
            user = User(
                email=email, name=f"{SUPPORT_NAME} ({email})", is_staff=True, is_platform_support=True
            )
            user.set_unusable_password()
            user.save()
        elif not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
        user.groups.set([roles.role_group(roles.OWNER)])
    return user


def support_session_open(*, organization: Organization, reason: str, operator: User) -> str:
    """The one-time link that signs the operator into the organization's portal for support
    (tenants.handoff); the portal shows a banner for the whole session and the merchant's
    audit log gets support.session_start when the link is spent."""
    reason = staff_reason(reason)
    with transaction.atomic():
        user = support_account_ensure(organization=organization, operator=operator)
        url = handoff_issue(
            organization=organization,
            purpose=PortalHandoff.Purpose.SUPPORT,
            staff_email=user.email,
            operator_email=operator.email,
            reason=reason,
        )
        OperatorAction.objects.create(
            organization=organization,
            organization_slug=organization.slug,
            operator_email=operator.email,
            action="support_session",
            reason=reason,
        )
    return url
