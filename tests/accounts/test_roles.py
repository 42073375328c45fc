"""The role groups: created in every organization's schema, idempotent, with exactly the
permissions of accounts.roles."""

from importlib import import_module
from types import SimpleNamespace

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.roles import ROLE_PERMISSIONS, roles_ensure
from tests.factories import StaffUserFactory

CUSTOM = {
    "accounts.use_till",
    "accounts.view_dashboard",
    "accounts.export_customers",
    "accounts.import_customers",
    "accounts.view_auditlog",
    "accounts.manage_staff",
}


def crud(*models: str) -> set[str]:
    return {
        f"{m.split('.')[0]}.{a}_{m.split('.')[1]}"
        for m in models
        for a in ("add", "change", "delete", "view")
    }


def view(*models: str) -> set[str]:
    return {f"{m.split('.')[0]}.view_{m.split('.')[1]}" for m in models}


CAMPAIGNS = {
    *crud(
        "campaigns.segment",
        "campaigns.segmentrule",
        "campaigns.segmentlistmember",
        "campaigns.campaign",
        "campaigns.campaignaction",
    ),
    *view(
        "campaigns.campaignrun",
        "campaigns.campaigngrant",
        "campaigns.campaignmessage",
        "campaigns.campaignboost",
        "campaigns.referral",
    ),
}

WEBHOOKS = {
    *crud("webhooks.webhookendpoint"),
    *view("webhooks.webhookevent", "webhooks.webhookdelivery", "webhooks.webhookattempt"),
}

EXPECTED = {
    "manager": {
        *CAMPAIGNS,
        *WEBHOOKS,
        "accounts.view_dashboard",
        "accounts.use_till",
        "accounts.export_customers",
        "accounts.import_customers",
        *crud(
            "customers.customer",
            "programs.program",
            "programs.card",
            "programs.ledgerentry",
            "tiers.tier",
            "rewards.reward",
            "rewards.rewardreception",
            "coupons.coupon",
            "vouchers.promotion",
            "vouchers.voucher",
            "attributes.attributedefinition",
            "stored_value.giftcardbatch",
            "stored_value.giftcard",
            "stored_value.prepaidaccount",
            "stored_value.moneyentry",
            "orders.order",
            "orders.orderline",
            "orders.orderreturn",
            "orders.orderreturnline",
            "orders.earningrule",
            "branding.contactemail",
        ),
        # Terms and privacy versions are added, never changed or deleted.
        "branding.add_legalversion",
        "branding.view_legalversion",
        *view(
            "programs.transactionreversal",
            "tiers.customertier",
            "vouchers.voucherredemption",
            "shops.shop",
            "identification.qrcardsession",
            "identification.invitation",
            "verification.pinchallenge",
        ),
    },
    "cashier": {
        "accounts.use_till",
        *view(
            "customers.customer",
            "programs.program",
            "programs.card",
            "programs.ledgerentry",
            "rewards.reward",
            "rewards.rewardreception",
            "coupons.coupon",
            "vouchers.voucher",
            "stored_value.giftcard",
            "stored_value.prepaidaccount",
            "stored_value.moneyentry",
            "orders.order",
        ),
    },
    "marketing": {
        *CAMPAIGNS,
        "accounts.view_dashboard",
        "accounts.export_customers",
        *crud("rewards.reward", "vouchers.promotion", "vouchers.voucher", "attributes.attributedefinition"),
        *view(
            "customers.customer",
            "programs.program",
            "tiers.tier",
            "rewards.rewardreception",
            "coupons.coupon",
            "vouchers.voucherredemption",
        ),
    },
    "developer": {*WEBHOOKS, *crud("tenants.apikey"), *view("shops.shop")},
}


def group_permissions(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def all_permissions() -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    }


def test_every_organization_has_the_five_roles_with_exactly_their_permissions(
    organization, other_organization
):
    for org in (organization, other_organization):
        with tenant_context(org):
            assert sorted(Group.objects.values_list("name", flat=True)) == [
                "cashier",
                "developer",
                "manager",
                "marketing",
                "owner",
            ]
            assert group_permissions("owner") == all_permissions()
            assert group_permissions("owner") >= CUSTOM
            for role, expected in EXPECTED.items():
                assert group_permissions(role) == expected, role


def test_the_table_names_only_permissions_that_exist(in_organization):
    assert roles_ensure() == {}
    assert set(ROLE_PERMISSIONS) == {"owner", "manager", "cashier", "marketing", "developer"}


def test_roles_ensure_is_idempotent_and_repairs_a_changed_group(in_organization):
    cashier = Group.objects.get(name="cashier")
    cashier.permissions.add(Permission.objects.get(codename="manage_staff"))
    Group.objects.get(name="marketing").delete()
    groups_before = set(Group.objects.exclude(name="marketing").values_list("pk", "name"))

    roles_ensure()
    roles_ensure()

    assert set(Group.objects.exclude(name="marketing").values_list("pk", "name")) == groups_before
    assert Group.objects.filter(name="marketing").count() == 1
    assert group_permissions("cashier") == EXPECTED["cashier"]
    assert group_permissions("marketing") == EXPECTED["marketing"]


def test_roles_are_not_made_in_the_public_schema(db):
    connection.set_schema_to_public()
    assert not Group.objects.filter(name__in=list(ROLE_PERMISSIONS)).exists()


def test_has_perm_follows_the_role(in_organization):
    cashier = StaffUserFactory(role="cashier")
    manager = StaffUserFactory(role="manager")
    marketing = StaffUserFactory(role="marketing")
    owner = StaffUserFactory()

    assert [u.is_superuser for u in (cashier, manager, marketing, owner)] == [False] * 4
    assert cashier.has_perm("accounts.use_till") and not cashier.has_perm("accounts.export_customers")
    assert not cashier.has_perm("tenants.view_apikey") and not cashier.has_perm("programs.change_program")
    assert manager.has_perm("accounts.import_customers") and not manager.has_perm("accounts.manage_staff")
    assert not manager.has_perm("tenants.change_organization") and not manager.has_perm(
        "accounts.view_auditlog"
    )
    assert marketing.has_perm("accounts.export_customers") and not marketing.has_perm(
        "programs.add_ledgerentry"
    )
    assert not marketing.has_perm("stored_value.add_moneyentry")
    assert owner.has_perm("accounts.manage_staff") and owner.has_perm("tenants.change_apikey")


def test_a_developer_manages_keys_and_webhooks_and_sees_no_customer_or_balance(in_organization):
    developer = StaffUserFactory(role="developer")

    assert developer.has_perms(
        [
            "tenants.add_apikey",
            "webhooks.add_webhookendpoint",
            "webhooks.view_webhookattempt",
            "shops.view_shop",
        ]
    )
    assert [
        developer.has_perm(name)
        for name in (
            "customers.view_customer",
            "programs.view_card",
            "programs.view_ledgerentry",
            "stored_value.view_giftcard",
            "stored_value.view_moneyentry",
            "accounts.view_dashboard",
            "accounts.export_customers",
            "accounts.manage_staff",
            "shops.change_shop",
        )
    ] == [False] * 9


def test_merchant_superusers_of_before_roles_become_owners(in_organization):
    migration = import_module("loyalty_platform.accounts.migrations.0003_merchant_superusers_become_owners")
    old = User.objects.create_superuser("old@example.com", "old password 1")

    migration.superusers_to_owners(global_apps, SimpleNamespace(connection=connection))

    old.refresh_from_db()
    assert (old.is_superuser, old.is_staff, list(old.groups.values_list("name", flat=True))) == (
        False,
        True,
        ["owner"],
    )
    assert old.has_perm("accounts.manage_staff")


def test_operators_in_the_public_schema_stay_superusers(db):
    connection.set_schema_to_public()
    migration = import_module("loyalty_platform.accounts.migrations.0003_merchant_superusers_become_owners")
    operator = User.objects.create_superuser("operator-keep@example.com", "operator pass 1")

    migration.superusers_to_owners(global_apps, SimpleNamespace(connection=connection))

    operator.refresh_from_db()
    assert (operator.is_superuser, operator.groups.count()) == (True, 0)
