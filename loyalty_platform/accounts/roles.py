"""The five staff roles of a merchant's admin and the permissions each one holds.

A role is a Django permission group of the organization's schema; pages and services check
`user.has_perm(...)`, never the group's name. This table is the only place that says what a
role may do: `roles_ensure()` writes it into a schema's groups (after every migration, so new
organizations, cloned from the template, get them too).

Owner holds every permission of the schema, including any a later migration adds. The other
roles list theirs one by one, so a new model is the owner's alone until someone decides here
who else may use it.
"""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

OWNER = "owner"
MANAGER = "manager"
CASHIER = "cashier"
MARKETING = "marketing"
DEVELOPER = "developer"

ROLE_LABELS = {
    OWNER: _("Owner"),
    MANAGER: _("Manager"),
    CASHIER: _("Cashier"),
    MARKETING: _("Marketing"),
    DEVELOPER: _("Developer"),
}
ROLE_CHOICES = list(ROLE_LABELS.items())

# Permissions that are not a model's add/change/delete/view, declared on accounts.User.
USE_TILL = "accounts.use_till"
VIEW_DASHBOARD = "accounts.view_dashboard"
EXPORT_CUSTOMERS = "accounts.export_customers"
IMPORT_CUSTOMERS = "accounts.import_customers"
VIEW_AUDITLOG = "accounts.view_auditlog"
MANAGE_STAFF = "accounts.manage_staff"

ALL_PERMISSIONS = "*"


def _model(label: str, *actions: str) -> tuple[str, ...]:
    """`_model("programs.program", "view")` -> ("programs.view_program",); no actions: all four."""
    app_label, model = label.split(".")
    return tuple(f"{app_label}.{action}_{model}" for action in actions or ("add", "change", "delete", "view"))


CAMPAIGN_PERMISSIONS = (
    *_model("campaigns.segment"),
    *_model("campaigns.segmentrule"),
    *_model("campaigns.segmentlistmember"),
    *_model("campaigns.campaign"),
    *_model("campaigns.campaignaction"),
    *_model("campaigns.campaignrun", "view"),
    *_model("campaigns.campaigngrant", "view"),
    *_model("campaigns.campaignmessage", "view"),
    *_model("campaigns.campaignboost", "view"),
    *_model("campaigns.referral", "view"),
)

# Outgoing webhooks: endpoints (their secrets with them) and the read-only event and delivery log.
WEBHOOK_PERMISSIONS = (
    *_model("webhooks.webhookendpoint"),
    *_model("webhooks.webhookevent", "view"),
    *_model("webhooks.webhookdelivery", "view"),
    *_model("webhooks.webhookattempt", "view"),
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    OWNER: (ALL_PERMISSIONS,),
    # Runs the program day to day: no staff, API keys, organization settings or audit log.
    MANAGER: (
        VIEW_DASHBOARD,
        USE_TILL,
        EXPORT_CUSTOMERS,
        IMPORT_CUSTOMERS,
        *_model("customers.customer"),
        *_model("programs.program"),
        *_model("programs.card"),
        *_model("programs.ledgerentry"),
        *_model("programs.transactionreversal", "view"),
        *_model("tiers.tier"),
        *_model("tiers.customertier", "view"),
        *_model("rewards.reward"),
        *_model("rewards.rewardreception"),
        *_model("coupons.coupon"),
        *_model("vouchers.promotion"),
        *_model("vouchers.voucher"),
        *_model("vouchers.voucherredemption", "view"),
        *_model("attributes.attributedefinition"),
        *_model("stored_value.giftcardbatch"),
        *_model("stored_value.giftcard"),
        *_model("stored_value.prepaidaccount"),
        *_model("stored_value.moneyentry"),
        *_model("orders.order"),
        *_model("orders.orderline"),
        *_model("orders.orderreturn"),
        *_model("orders.orderreturnline"),
        *_model("orders.earningrule"),
        *_model("shops.shop", "view"),
        *_model("identification.qrcardsession", "view"),
        *_model("identification.invitation", "view"),
        *_model("verification.pinchallenge", "view"),
        *CAMPAIGN_PERMISSIONS,
        *WEBHOOK_PERMISSIONS,
        # The terms and privacy pages: new versions are added, never changed or deleted.
        *_model("branding.legalversion", "add", "view"),
        *_model("branding.contactemail"),
    ),
    # The till and looking a customer up; reads only, no settings, exports or program changes.
    CASHIER: (
        USE_TILL,
        *_model("customers.customer", "view"),
        *_model("programs.program", "view"),
        *_model("programs.card", "view"),
        *_model("programs.ledgerentry", "view"),
        *_model("rewards.reward", "view"),
        *_model("rewards.rewardreception", "view"),
        *_model("coupons.coupon", "view"),
        *_model("vouchers.voucher", "view"),
        *_model("stored_value.giftcard", "view"),
        *_model("stored_value.prepaidaccount", "view"),
        *_model("stored_value.moneyentry", "view"),
        *_model("orders.order", "view"),
    ),
    # Promotions, vouchers and rewards, and who the customers are; no balances or money.
    MARKETING: (
        VIEW_DASHBOARD,
        EXPORT_CUSTOMERS,
        *_model("customers.customer", "view"),
        *_model("programs.program", "view"),
        *_model("tiers.tier", "view"),
        *_model("rewards.reward"),
        *_model("rewards.rewardreception", "view"),
        *_model("coupons.coupon", "view"),
        *_model("vouchers.promotion"),
        *_model("vouchers.voucher"),
        *_model("vouchers.voucherredemption", "view"),
        *_model("attributes.attributedefinition"),
        *CAMPAIGN_PERMISSIONS,
    ),
    # Integrations: API keys, webhooks and the shops keys belong to; no customers' personal
    # data, balances or money (the dashboard shows balances, so not that either).
    DEVELOPER: (
        *_model("tenants.apikey"),
        *_model("shops.shop", "view"),
        *WEBHOOK_PERMISSIONS,
    ),
}


def role_permissions(role: str) -> "Q | None":
    """A filter on Permission for the role's permissions; None means all of them."""
    names = ROLE_PERMISSIONS[role]
    if ALL_PERMISSIONS in names:
        return None
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def _missing(role: str, granted: Iterable[Permission]) -> list[str]:
    present = {f"{p.content_type.app_label}.{p.codename}" for p in granted}
    return sorted(set(ROLE_PERMISSIONS[role]) - present - {ALL_PERMISSIONS})


@transaction.atomic
def roles_ensure() -> dict[str, list[str]]:
    """Create or update the role groups of the current schema to match the table.
    Idempotent. Returns, per role, permissions the table names that the schema lacks (none,
    unless a migration was left out); the group gets the rest."""
    missing: dict[str, list[str]] = {}
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        query = role_permissions(role)
        permissions = Permission.objects.select_related("content_type")
        wanted = list(permissions.all() if query is None else permissions.filter(query))
        group.permissions.set(wanted)
        if absent := _missing(role, wanted):
            missing[role] = absent
    return missing


def role_group(role: str) -> Group:
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}")
    return Group.objects.get(name=role)


def role_of(user) -> str | None:
    """The user's role: the one role group they are in (services keep it at one)."""
    names = [group.name for group in user.groups.all() if group.name in ROLE_PERMISSIONS]
    return names[0] if names else None
