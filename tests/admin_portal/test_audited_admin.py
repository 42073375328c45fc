"""Every add, change and delete through the merchant portal's model pages is in the audit log,
with who, what and the fields' old and new values; a refused form records nothing."""

from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.shops.models import Shop
from loyalty_platform.stored_value.services import giftcard_batch_generate
from loyalty_platform.vouchers.models import Promotion
from tests.factories import StaffUserFactory
from tests.pos_fixtures import create_customer


def signed_in(client, organization):
    with tenant_context(organization):
        user = StaffUserFactory()
    assert client.login(email=user.email, password="correct horse battery")
    return user


def audit_of(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(
            AuditLogEntry.objects.order_by("pk").values_list(
                "actor_id", "action", "target_type", "target_repr", "details"
            )
        )


def test_adding_changing_and_deleting_a_shop_are_audited_with_their_fields(organization, client_a):
    user = signed_in(client_a, organization)

    client_a.post("/admin/shops/shop/add/", {"name": "Corner", "address": "", "is_active": "on"})
    with tenant_context(organization):
        shop = Shop.objects.get(name="Corner")
    client_a.post(
        f"/admin/shops/shop/{shop.pk}/change/", {"name": "Station", "address": "", "is_active": "on"}
    )
    # Saved again unchanged: nothing to record.
    client_a.post(
        f"/admin/shops/shop/{shop.pk}/change/", {"name": "Station", "address": "", "is_active": "on"}
    )
    client_a.post(f"/admin/shops/shop/{shop.pk}/delete/", {"post": "yes"})

    assert audit_of(organization) == [
        (
            user.pk,
            "admin_add",
            "shops.Shop",
            "Corner",
            {"fields": {"name": "Corner", "address": "", "is_active": True}},
        ),
        (user.pk, "admin_change", "shops.Shop", "Station", {"fields": {"name": ["Corner", "Station"]}}),
        (user.pk, "admin_delete", "shops.Shop", "Station", {}),
    ]


def test_a_bulk_delete_records_each_row(organization, client_a):
    user = signed_in(client_a, organization)
    with tenant_context(organization):
        shops = [Shop.objects.create(name=name) for name in ("North", "South")]

    response = client_a.post(
        "/admin/shops/shop/",
        {"action": "delete_selected", "_selected_action": [shop.pk for shop in shops], "post": "yes"},
    )

    assert response.status_code == 302
    assert sorted((actor, action, name) for actor, action, _, name, _ in audit_of(organization)) == [
        (user.pk, "admin_delete", "North"),
        (user.pk, "admin_delete", "South"),
    ]


def test_a_refused_form_changes_and_records_nothing(organization, client_a):
    signed_in(client_a, organization)
    with tenant_context(organization):
        shop = Shop.objects.create(name="Corner")

    response = client_a.post(f"/admin/shops/shop/{shop.pk}/change/", {"name": "", "address": "x"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    with tenant_context(organization):
        shop.refresh_from_db()
    assert (shop.name, shop.address) == ("Corner", "")
    assert audit_of(organization) == []


def test_voiding_coupons_needs_the_change_permission_and_is_audited(
    organization, programs, client_a, client_b
):
    customer = create_customer(organization)
    with tenant_context(organization):
        coupon = Coupon.objects.create(customer=customer, program=programs["stamp"], name="Free coffee")
        owner = StaffUserFactory(email="owner@example.com")
        StaffUserFactory(email="cashier@example.com", role="cashier")
    void = {"action": "void", "_selected_action": [coupon.pk]}

    assert client_a.login(email="cashier@example.com", password="correct horse battery")
    client_a.post("/admin/coupons/coupon/", void)
    with tenant_context(organization):
        assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.ACTIVE
    assert audit_of(organization) == []

    assert client_a.login(email="owner@example.com", password="correct horse battery")
    client_a.post("/admin/coupons/coupon/", void)

    with tenant_context(organization):
        assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.VOID
    assert [(actor, action) for actor, action, *_ in audit_of(organization)] == [(owner.pk, "coupon_void")]


def test_code_exports_and_generation_are_audited(organization, client_a):
    user = signed_in(client_a, organization)
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Spring")
        batch = giftcard_batch_generate(name="Winter", count=2, currency="EUR")

    client_a.post(f"/admin/vouchers/promotion/{promotion.pk}/generate/", {"count": 3, "pool": ""})
    assert client_a.get(f"/admin/vouchers/promotion/{promotion.pk}/export.csv").status_code == 200
    assert client_a.get(f"/admin/stored_value/giftcardbatch/{batch.pk}/export.csv").status_code == 200
    assert client_a.get(f"/admin/stored_value/giftcardbatch/{batch.pk}/sheet/").status_code == 200

    assert [(actor, action, details) for actor, action, _, _, details in audit_of(organization)] == [
        (user.pk, "vouchers_generate", {"count": 3, "pool": ""}),
        (user.pk, "vouchers_export", {}),
        (user.pk, "giftcard_batch_export", {"as": "csv"}),
        (user.pk, "giftcard_batch_export", {"as": "sheet"}),
    ]
