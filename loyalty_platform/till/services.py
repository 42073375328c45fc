"""The browser till's API keys: one live key per staff member and organization, bound to the
shop they work at, expiring after a shift, revoked when they sign out. The till calls the POS
API with it like any terminal, so its calls are idempotent, rate-limited and recorded
(`api_key_lookup_id`) like a real till's."""

from datetime import timedelta

from django.db import transaction

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.services import audit_record
from loyalty_platform.shops.models import Shop
from tenants.models import ApiKey, Organization
from tenants.services import IssuedApiKey, api_key_create, api_key_revoke

TILL_KEY_LIFETIME = timedelta(hours=12)
TILL_LABEL_PREFIX = "Till: "
_LABEL_LENGTH = ApiKey._meta.get_field("label").max_length


def till_key_label(*, user: User, shop: Shop) -> str:
    return f"{TILL_LABEL_PREFIX}{user.email} @ {shop.name}"[:_LABEL_LENGTH]


def _live_till_keys(*, organization: Organization, user: User):
    return ApiKey.objects.filter(
        organization=organization, staff_user_id=user.pk, revoked_at__isnull=True
    ).order_by("pk")


@transaction.atomic
def till_keys_revoke(*, organization: Organization, user: User, reason: str) -> list[str]:
    """Revoke the staff member's till keys of this organization (run in its schema); returns
    their lookup ids. Each revocation forgets the cached copies (tenants.signals)."""
    revoked = []
    for api_key in _live_till_keys(organization=organization, user=user).select_for_update():
        api_key_revoke(api_key=api_key)
        audit_record(
            actor=user,
            action="till_key_revoke",
            target=api_key,
            details={"lookup_id": api_key.lookup_id, "reason": reason},
        )
        revoked.append(api_key.lookup_id)
    return revoked


@transaction.atomic
def till_key_issue(*, organization: Organization, user: User, shop: Shop) -> IssuedApiKey:
    """A new till key for `user` at `shop` (run in the organization's schema); the staff
    member's previous till keys stop working."""
    till_keys_revoke(organization=organization, user=user, reason="replaced")
    issued = api_key_create(
        organization=organization,
        label=till_key_label(user=user, shop=shop),
        shop_id=shop.pk,
        staff_user_id=user.pk,
    )
    api_key = issued.api_key
    api_key.expires_at = api_key.created_at + TILL_KEY_LIFETIME
    api_key.save(update_fields=["expires_at"])
    audit_record(
        actor=user,
        action="till_key_issue",
        target=api_key,
        details={
            "lookup_id": api_key.lookup_id,
            "shop_id": shop.pk,
            "shop": shop.name,
            "expires_at": api_key.expires_at.isoformat(),
        },
    )
    return issued
