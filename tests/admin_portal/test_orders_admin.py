from django_tenants.utils import tenant_context

from loyalty_platform.orders.claims import receipt_claim_key
from loyalty_platform.orders.models import EarningRule, Order
from loyalty_platform.tiers.models import Tier
from tests.admin_portal.test_merchant_admin import staff_login
from tests.orders.test_orders_api import order_body
from tests.pos_fixtures import create_customer


def test_staff_configure_earning_rules_and_tiers_and_the_api_follows(organization, programs, client_a, pos):
    staff_login(client_a, organization)

    added = client_a.post(
        "/admin/orders/earningrule/add/",
        {
            "name": "Double drinks",
            "is_active": "on",
            "applies_to": "category",
            "match_values": "drinks",
            "effect": "multiplier",
            "multiplier": "2",
            "bonus_points": "0",
        },
    )
    refused = client_a.post(
        "/admin/orders/earningrule/add/",
        {
            "name": "Nothing",
            "applies_to": "sku",
            "match_values": "",
            "effect": "exclude",
            "multiplier": "1",
            "bonus_points": "0",
        },
    )
    tier = client_a.post(
        "/admin/tiers/tier/add/", {"name": "Silver", "threshold_points": "5", "points_multiplier": "1.00"}
    )

    assert (added.status_code, refused.status_code, tier.status_code) == (302, 200, 302)
    assert "Name at least one category or SKU." in refused.content.decode()
    with tenant_context(organization):
        assert list(EarningRule.objects.values_list("name", flat=True)) == ["Double drinks"]
        assert Tier.objects.count() == 1
    customer = create_customer(organization)
    data = pos.post("/webhook/orders", order_body(customer=customer)).json()["data"]
    assert (data["points_earned"], data["tier"]["name"]) == (18, "Silver")  # 7 x 2 + 4


def test_orders_are_read_only_and_the_claim_key_is_shown(organization, programs, client_a, pos):
    staff_login(client_a, organization)
    pos.post("/webhook/orders", order_body())
    with tenant_context(organization):
        order = Order.objects.get()

    listing = client_a.get("/admin/orders/order/")
    detail = client_a.get(f"/admin/orders/order/{order.pk}/change/")
    settings_page = client_a.get(f"/admin/tenants/organization/{organization.pk}/change/")

    assert listing.status_code == 200 and "o-1" in listing.content.decode()
    assert detail.status_code == 200 and "LATTE" in detail.content.decode()
    assert client_a.get("/admin/orders/order/add/").status_code == 403
    assert receipt_claim_key(organization) in settings_page.content.decode()
