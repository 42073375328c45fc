"""Staff of an organization: the initial owner, invitations, roles, deactivation, two-factor
devices. Every change writes its audit record in the same transaction (decision 0020).

Merchant staff are never superusers; what they may do comes from their one role group
(accounts.roles). Superusers exist only in the public schema: the platform's operators."""

import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import get_public_schema_name

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.models import StaffInvitation, User
from loyalty_platform.audit.services import audit_record
from loyalty_platform.core.mail import email_build, email_language
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.till.services import till_keys_revoke
from tenants.limits import current_organization, plan_limit_reserve
from tenants.models import Organization
from tenants.platform import base_url
from tenants.services import organization_primary_hostname

INVITATION_HOURS = 72


class StaffError(ValueError):
    """A refused staff change; `code` says which, the message says why to a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


StaffUserError = StaffError  # the name the operator commands catch


def _normalized_email(email: str) -> str:
    normalized = User.objects.normalize_email(email or "").strip().lower()
    if not normalized or "@" not in normalized:
        raise StaffError("email_invalid", _("Not an email address: %(email)s") % {"email": email})
    return normalized


def _refuse_existing(email: str) -> None:
    if User.objects.filter(email__iexact=email).exists():
        raise StaffError(
            "already_staff", _("A staff account with email %(email)s already exists.") % {"email": email}
        )


def _in_public_schema() -> bool:
    return connection.schema_name == get_public_schema_name()


def _check_role(role: str) -> None:
    if role not in roles.ROLE_PERMISSIONS:
        raise StaffError("role_invalid", _("Unknown role: %(role)s") % {"role": role})


def _role_snapshot(user: User) -> dict:
    return {"email": user.email, "role": roles.role_of(user), "is_active": user.is_active}


@transaction.atomic
def staff_user_create(*, email: str, password: str | None, name: str = "", role: str = roles.OWNER) -> User:
    """An account with a password, made by the operator (`create_staff_user`, the demo): in
    an organization's schema a member of `role` (the initial owner by default), in the
    public schema a platform operator, the only kind of superuser. Password None: no usable
    one (sign-up then stores the hash it kept)."""
    normalized = _normalized_email(email)
    _refuse_existing(normalized)
    if _in_public_schema():
        return User.objects.create_superuser(normalized, password, name=name)
    _check_role(role)
    plan_limit_reserve(organization=current_organization(), limit="staff")
    user = User.objects.create_user(normalized, password, name=name, is_staff=True, is_superuser=False)
    user.groups.set([roles.role_group(role)])
    audit_record(actor=None, action="staff.create", target=user, details=_role_snapshot(user))
    return user


def staff_user_set_password(*, user: User, password: str) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def invitation_url(*, organization: Organization, token: str) -> str:
    return (
        f"{base_url(organization_primary_hostname(organization=organization))}/admin/accept-invite/{token}/"
    )


@transaction.atomic
def staff_invite(*, organization: Organization, email: str, role: str, invited_by: User | None) -> str:
    """Create a staff member of `role` without a usable password and email them a link,
    valid INVITATION_HOURS and once, to set it. Returns the link."""
    if connection.schema_name != organization.schema_name:
        raise RuntimeError("staff_invite runs in the organization's own schema")
    normalized = _normalized_email(email)
    _check_role(role)
    _refuse_existing(normalized)
    plan_limit_reserve(organization=organization, limit="staff")
    user = User(email=normalized, is_staff=True, is_superuser=False, is_active=True)
    user.set_unusable_password()
    user.save()
    user.groups.set([roles.role_group(role)])
    token = secrets.token_urlsafe(32)
    StaffInvitation.objects.create(
        user=user,
        token_hash=token_hash(token),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(hours=INVITATION_HOURS),
    )
    audit_record(actor=invited_by, action="staff.invite", target=user, details=_role_snapshot(user))
    url = invitation_url(organization=organization, token=token)
    # In the organization's language, not the inviting owner's page's: staff have no language
    # of their own yet (decision 0058).
    message = email_build(
        language=email_language(organization.language),
        template="accounts/emails/invitation",
        subject=lambda: _("You are invited to the %(name)s loyalty admin") % {"name": organization.name},
        context={
            "url": url,
            "hours": INVITATION_HOURS,
            "role": roles.ROLE_LABELS[role],
            "invited_by": invited_by,
        },
        to=[normalized],
        organization=organization,
    )
    transaction.on_commit(message.send)
    return url


def invitation_find(*, token: str) -> StaffInvitation | None:
    """The open invitation of this schema with this token, or None (unknown, used, expired,
    or the person was deactivated since)."""
    invitation = (
        StaffInvitation.objects.select_related("user").filter(token_hash=token_hash(token or "")).first()
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at <= timezone.now()
        or not invitation.user.is_active
    ):
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
    """Spend the invitation once and set the password (Django's validators apply)."""
    invitation = invitation_find(token=token)
    if invitation is None:
        raise StaffError("invitation_invalid", _("This invitation link is not valid any more."))
    validate_password(password, user=invitation.user)
    spent = StaffInvitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if not spent:
        raise StaffError("invitation_invalid", _("This invitation link is not valid any more."))
    user = invitation.user
    staff_user_set_password(user=user, password=password)
    audit_record(actor=user, action="staff.invite_accept", target=user, details={"email": user.email})
    return user


def _active_owners():
    return User.objects.filter(is_active=True, groups__name=roles.OWNER)


def _refuse_own_change(*, user: User, actor: User) -> None:
    if user.pk == actor.pk:
        raise StaffError("own_account", _("You cannot change your own role or deactivate yourself."))


def _refuse_last_owner(user: User) -> None:
    # Locked, so two owners demoting each other at once cannot both succeed.
    owners = list(_active_owners().select_for_update().order_by("pk").values_list("pk", flat=True))
    if owners == [user.pk]:
        raise StaffError(
            "last_owner",
            _("%(email)s is the last owner; make someone else owner first.") % {"email": user.email},
        )


@transaction.atomic
def staff_role_set(*, user: User, role: str, actor: User) -> User:
    _check_role(role)
    _refuse_own_change(user=user, actor=actor)
    before = roles.role_of(user)
    if before == role:
        return user
    if before == roles.OWNER:
        _refuse_last_owner(user)
    user.groups.set([roles.role_group(role)])
    audit_record(
        actor=actor, action="staff.role_change", target=user, details={"before": before, "after": role}
    )
    # A till key is issued for the role of its day: the next till opened gets one for the new.
    till_keys_revoke(organization=connection.tenant, user=user, reason="role_change")
    return user


@transaction.atomic
def staff_deactivate(*, user: User, actor: User) -> User:
    """The person can no longer sign in; their history (audit, ledger) keeps their name."""
    _refuse_own_change(user=user, actor=actor)
    if not user.is_active:
        return user
    if roles.role_of(user) == roles.OWNER:
        _refuse_last_owner(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    # An invitation still open would work again after a reactivation: it ends here.
    StaffInvitation.objects.filter(user=user, accepted_at__isnull=True).update(expires_at=timezone.now())
    audit_record(actor=actor, action="staff.deactivate", target=user, details=_role_snapshot(user))
    till_keys_revoke(organization=connection.tenant, user=user, reason="deactivated")
    return user


@transaction.atomic
def staff_reactivate(*, user: User, actor: User) -> User:
    _refuse_own_change(user=user, actor=actor)
    if user.is_active:
        return user
    plan_limit_reserve(organization=current_organization(), limit="staff")
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action="staff.reactivate", target=user, details=_role_snapshot(user))
    return user


# --- Two-factor sign-in ---------------------------------------------------------------------


def two_factor_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed secret to show as a QR code; an earlier unconfirmed one is replaced."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def two_factor_enrolment_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the pending device with a code it made; the device, or None for a wrong code.
    A confirmed device replaces the one the user had before."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(token):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=user, action="staff.two_factor_enrol", target=user, details={"email": user.email})
    return device


@transaction.atomic
def two_factor_remove(*, user: User, actor: User) -> None:
    """An owner resets a staff member's authenticator (a lost phone), or a person their own."""
    deleted, _count = TOTPDevice.objects.filter(user=user).delete()
    if deleted:
        audit_record(
            actor=actor, action="staff.two_factor_remove", target=user, details={"email": user.email}
        )


@transaction.atomic
def organization_two_factor_set(*, organization: Organization, required: bool, actor: User) -> Organization:
    """Whether owners of the organization must sign in with a two-factor code."""
    before = organization.staff_two_factor_required
    if before == required:
        return organization
    organization.staff_two_factor_required = required
    organization.save(update_fields=["staff_two_factor_required"])
    audit_record(
        actor=actor,
        action="organization.two_factor_required",
        target=organization,
        details={"before": before, "after": required},
    )
    return organization
