"""First-class discount fields on rewards and promotions: validated together in the admin
forms, returned by the POS API wherever a reward, promotion or voucher is."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from loyalty_platform.rewards.discounts import discount_errors
from loyalty_platform.rewards.models import Reward
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import vouchers_generate
from tests.admin_portal.test_merchant_admin import staff_login
from tests.pos_fixtures import create_customer


def promotion_form(**changes) -> dict:
    return {"title": "Spring", "description": "", "uses_per_voucher": 1, **changes}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"discount_type": "percentage_discount", "discount_value": "0"}, ["discount_value"]),
        ({"discount_type": "percentage_discount", "discount_value": "100.01"}, ["discount_value"]),
        ({"discount_type": "percentage_discount"}, ["discount_value"]),
        ({"discount_type": "absolute_discount", "discount_value": "-1"}, ["discount_value"]),
        ({"discount_type": "free_item", "discount_value": "5"}, ["discount_value", "product_code"]),
        ({"discount_value": "5", "category": "coffee"}, ["discount_type"]),
        ({"discount_type": "half_off"}, ["discount_type"]),
    ],
)
def test_the_promotion_form_refuses_a_discount_that_does_not_add_up(organization, client_a, fields, errors):
    staff_login(client_a, organization)

    response = client_a.post("/admin/vouchers/promotion/add/", promotion_form(**fields))

    assert response.status_code == 200
    assert sorted(response.context_data["adminform"].form.errors) == errors
    with tenant_context(organization):
        assert not Promotion.objects.exists()


def test_every_form_error_is_shown_at_once(organization, client_a):
    staff_login(client_a, organization)

    response = client_a.post(
        "/admin/vouchers/promotion/add/",
        promotion_form(title="", uses_per_voucher="x", discount_type="free_item", discount_value="3"),
    )

    assert sorted(response.context_data["adminform"].form.errors) == [
        "discount_value",
        "product_code",
        "title",
        "uses_per_voucher",
    ]


@pytest.mark.parametrize(
    ("currency", "value", "ok"),
    [("EUR", "2.50", True), ("EUR", "2.505", False), ("JPY", "300", True), ("JPY", "2.5", False)],
)
def test_an_amount_off_has_the_currencys_decimals(currency, value, ok):
    errors = discount_errors(
        discount_type="absolute_discount",
        value=Decimal(value),
        product_code="",
        category="",
        currency=currency,
    )
    assert (errors == {}) is ok


def test_a_reward_discount_is_checked_by_the_model_too(in_organization):
    reward = Reward(name="Cake", required_credits=10, discount_type="free_item")

    with pytest.raises(ValidationError) as refused:
        reward.full_clean()

    assert list(refused.value.message_dict) == ["product_code"]


def test_the_api_returns_the_discount_of_rewards_promotions_and_vouchers(organization, programs, pos):
    with tenant_context(organization):
        Reward.objects.create(
            name="Cake", required_credits=50, discount_type="free_item", product_code="CAKE-1"
        )
        Reward.objects.create(name="Plain", required_credits=60)
        promotion = Promotion.objects.create(
            title="2.50 off coffee",
            discount_type="absolute_discount",
            discount_value=Decimal("2.5"),
            category="coffee",
        )
        customer = create_customer(organization, points=100)
        (voucher,) = vouchers_generate(promotion=promotion, count=1)
        Voucher.objects.filter(pk=voucher.pk).update(customer=customer)
    cake = {"discount_type": "free_item", "discount_value": None, "product_code": "CAKE-1", "category": ""}
    off = {
        "discount_type": "absolute_discount",
        "discount_value": "2.50",
        "product_code": "",
        "category": "coffee",
    }

    catalog = pos.get(f"/webhook/customers/{customer.customer_code}/rewards").json()["data"]
    wallet = pos.get(f"/webhook/customers/{customer.customer_code}/wallet").json()["data"]
    checked = pos.get(f"/webhook/vouchers/{voucher.code}").json()["data"]
    validated = pos.post(
        "/webhook/vouchers/validate", {"code": voucher.code, "external_id": "v1", "amount": "10.00"}
    ).json()["data"]

    assert [(r["name"], r["discount"]) for r in catalog] == [("Cake", cake), ("Plain", None)]
    assert [r["discount"] for r in wallet["affordable_rewards"]] == [cake, None]
    assert [v["discount"] for v in wallet["vouchers"]] == [off]
    assert checked["promotion"]["discount"] == off
    assert validated["promotion"]["discount"] == off
