"""Promotions created, changed, withdrawn and deleted through the services, which the portal
and the Shop API share: one set of rules, one audit record per change."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns.grants import grant_to_customers
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import (
    promotion_create,
    promotion_delete,
    promotion_update,
    voucher_check,
    vouchers_generate,
)
from tests.admin_portal.test_merchant_admin import staff_login
from tests.campaigns.runner_fixtures import make_action, make_campaign, make_run
from tests.pos_fixtures import create_customer, refused


def promotion_form(**changes) -> dict:
    return {"title": "Spring", "description": "", "uses_per_voucher": 1, "is_active": "on", **changes}


def audit_trail(promotion_id: int) -> list[tuple]:
    return list(
        AuditLogEntry.objects.filter(target_type="vouchers.Promotion", target_id=str(promotion_id))
        .order_by("pk")
        .values_list("action", "details")
    )


def test_the_portal_creates_and_changes_a_promotion_through_the_services(organization, client_a):
    staff_login(client_a, organization)

    added = client_a.post(
        "/admin/vouchers/promotion/add/",
        promotion_form(discount_type="percentage_discount", discount_value="10"),
    )
    with tenant_context(organization):
        promotion = Promotion.objects.get(title="Spring")
    changed = client_a.post(
        f"/admin/vouchers/promotion/{promotion.pk}/change/",
        promotion_form(
            title="Spring sale", discount_type="percentage_discount", discount_value="15", is_active=""
        ),
    )

    assert (added.status_code, changed.status_code) == (302, 302)
    with tenant_context(organization):
        promotion.refresh_from_db()
        assert (promotion.title, promotion.discount_value, promotion.is_active) == (
            "Spring sale",
            Decimal("15.00"),
            False,
        )
        trail = audit_trail(promotion.pk)
        actors = set(
            AuditLogEntry.objects.filter(target_id=str(promotion.pk)).values_list("actor__email", flat=True)
        )
    assert [action for action, _ in trail] == ["promotions.create", "promotions.update"]
    assert trail[0][1]["fields"]["discount_value"] == "10.00"
    assert trail[1][1] == {
        "changes": {
            "title": ["Spring", "Spring sale"],
            "discount_value": ["10.00", "15.00"],
            "is_active": [True, False],
        }
    }
    assert actors == {"owner@example.com"}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {
                "valid_from_0": "2026-06-02",
                "valid_from_1": "10:00",
                "valid_until_0": "2026-06-01",
                "valid_until_1": "10:00",
            },
            ["valid_until"],
        ),
        ({"title": "bell\x07"}, ["title"]),
        (
            {"category": "tab\there", "discount_type": "percentage_discount", "discount_value": "5"},
            ["category"],
        ),
        ({"minimum_spend": "-1"}, ["minimum_spend"]),
        ({"uses_per_voucher": "0"}, ["uses_per_voucher"]),
        ({"uses_per_customer": "0"}, ["uses_per_customer"]),
    ],
)
def test_the_portal_shows_the_services_rules_at_their_fields(organization, client_a, fields, errors):
    staff_login(client_a, organization)

    response = client_a.post("/admin/vouchers/promotion/add/", promotion_form(**fields))

    assert response.status_code == 200
    assert sorted(response.context_data["adminform"].form.errors) == errors
    with tenant_context(organization):
        assert not Promotion.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"title": None}, "promotion_field_required", "title"),
        ({"title": " "}, "promotion_field_required", "title"),
        ({"title": "x" * 121}, "promotion_field_invalid", "title"),
        (
            {"discount_type": "percentage_discount", "discount_value": Decimal(0)},
            "promotion_field_invalid",
            "discount_value",
        ),
        ({"discount_type": "percentage_discount"}, "promotion_field_required", "discount_value"),
        (
            {"discount_type": "absolute_discount", "discount_value": 2.5},
            "promotion_field_invalid",
            "discount_value",
        ),
        ({"discount_type": "free_item"}, "promotion_field_required", "product_code"),
        ({"discount_type": "half"}, "promotion_field_invalid", "discount_type"),
        ({"valid_from": datetime(2026, 6, 1)}, "promotion_field_invalid", "valid_from"),
        ({"minimum_spend": Decimal("1.005")}, "promotion_field_invalid", "minimum_spend"),
        ({"uses_per_customer": -1}, "promotion_field_invalid", "uses_per_customer"),
        ({"is_active": "yes"}, "promotion_field_invalid", "is_active"),
    ],
)
def test_the_service_refuses_what_the_portal_refuses(in_organization, fields, code, field):
    with refused(code) as caught:
        promotion_create(**{"title": "Spring", **fields})

    assert caught.value.extra["field"] == field
    assert not Promotion.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_a_required_attribute_is_required_of_every_caller(in_organization):
    from loyalty_platform.attributes.models import AttributeDefinition

    AttributeDefinition.objects.create(
        entity="promotion", name="pos_colour", label="Colour", kind="text", required=True
    )

    with refused("attribute_invalid"):
        promotion_create(title="Spring")
    assert promotion_create(title="Spring", attributes={"pos_colour": "red"}).attributes == {
        "pos_colour": "red"
    }


def test_an_update_is_checked_as_a_whole_and_changes_nothing_when_refused(in_organization):
    promotion = promotion_create(title="Spring", valid_from=datetime(2026, 6, 1, tzinfo=UTC))

    with refused("promotion_field_invalid") as caught:
        promotion_update(promotion=promotion, valid_until=datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(TypeError):
        promotion_update(promotion=promotion, colour="red")

    assert caught.value.extra["field"] == "valid_until"
    promotion.refresh_from_db()
    assert promotion.valid_until is None
    assert [action for action, _ in audit_trail(promotion.pk)] == ["promotions.create"]


def test_delete_removes_an_unused_promotion_and_withdraws_one_with_vouchers(in_organization):
    unused = promotion_create(title="Unused")
    used = promotion_create(title="Used")
    (voucher,) = vouchers_generate(promotion=used, count=1)

    gone = promotion_delete(promotion=unused)
    kept = promotion_delete(promotion=used)
    again = promotion_delete(promotion=used)

    assert (gone.deleted, kept.deleted, again.deleted) == (True, False, False)
    assert not Promotion.objects.filter(pk=unused.pk).exists()
    assert Promotion.objects.get(pk=used.pk).is_active is False
    assert Voucher.objects.get(pk=voucher.pk).status == "active"
    with refused("voucher_expired"):
        voucher_check(code=voucher.code)
    assert [action for action, _ in audit_trail(unused.pk)] == ["promotions.create", "promotions.delete"]
    assert [action for action, _ in audit_trail(used.pk)] == ["promotions.create", "promotions.withdraw"]


def test_a_promotion_a_campaign_names_is_withdrawn_and_gives_no_more_vouchers(organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        promotion = promotion_create(title="Campaign cookie")
        campaign = make_campaign()
        action = make_action(campaign, "grant_voucher", promotion=promotion)

        assert promotion_delete(promotion=promotion).deleted is False
        assert grant_to_customers(run=make_run(campaign), action=action, customer_ids=[customer.pk]) == 0
        assert not Voucher.objects.filter(promotion=promotion).exists()
