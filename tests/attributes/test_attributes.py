import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.attributes.services import attributes_clean
from loyalty_platform.core.errors import DomainError
from loyalty_platform.rewards.models import Reward
from tests.admin_portal.test_merchant_admin import staff_login
from tests.pos_fixtures import create_customer


@pytest.fixture
def definitions(in_organization):
    kinds = AttributeDefinition.Kind
    for name, kind, choices, required in (
        (
            "mypos_discount_type",
            kinds.CHOICE,
            ["percentage_discount", "absolute_discount", "free_item"],
            True,
        ),
        ("mypos_discount_value", kinds.NUMBER, [], False),
        ("mypos_product_code", kinds.MULTICHOICE, ["SKU1", "SKU2", "SKU3"], False),
        ("mypos_category", kinds.TEXT, [], False),
        ("mypos_stackable", kinds.BOOLEAN, [], False),
    ):
        AttributeDefinition.objects.create(
            entity="reward", name=name, label=name, kind=kind, choices=choices, required=required
        )


def test_valid_values_are_cleaned(definitions):
    cleaned = attributes_clean(
        entity="reward",
        values={
            "mypos_discount_type": "percentage_discount",
            "mypos_discount_value": "10.0",
            "mypos_product_code": ["SKU1", "SKU3", "SKU1"],
            "mypos_category": "coffee",
            "mypos_stackable": False,
        },
    )
    assert cleaned == {
        "mypos_discount_type": "percentage_discount",
        "mypos_discount_value": 10,
        "mypos_product_code": ["SKU1", "SKU3"],
        "mypos_category": "coffee",
        "mypos_stackable": False,
    }


@pytest.mark.parametrize(
    ("values", "code", "attribute"),
    [
        ({}, "attribute_invalid", "mypos_discount_type"),
        ({"mypos_discount_type": "half_off"}, "attribute_invalid", "mypos_discount_type"),
        (
            {"mypos_discount_type": "free_item", "mypos_discount_value": "ten"},
            "attribute_invalid",
            "mypos_discount_value",
        ),
        (
            {"mypos_discount_type": "free_item", "mypos_discount_value": True},
            "attribute_invalid",
            "mypos_discount_value",
        ),
        (
            {"mypos_discount_type": "free_item", "mypos_product_code": "SKU1"},
            "attribute_invalid",
            "mypos_product_code",
        ),
        (
            {"mypos_discount_type": "free_item", "mypos_product_code": ["SKU9"]},
            "attribute_invalid",
            "mypos_product_code",
        ),
        (
            {"mypos_discount_type": "free_item", "mypos_stackable": "yes"},
            "attribute_invalid",
            "mypos_stackable",
        ),
        (
            {"mypos_discount_type": "free_item", "mypos_category": "x" * 501},
            "attribute_invalid",
            "mypos_category",
        ),
        ({"mypos_discount_type": "free_item", "other": 1}, "attribute_unknown", "other"),
    ],
)
def test_invalid_values_are_refused(definitions, values, code, attribute):
    with pytest.raises(DomainError) as refused:
        attributes_clean(entity="reward", values=values)
    assert (refused.value.code, refused.value.extra["attribute"]) == (code, attribute)


def test_promotion_attributes_are_separate(definitions):
    assert attributes_clean(entity="promotion", values={}) == {}
    with pytest.raises(DomainError, match="attribute_unknown"):
        attributes_clean(entity="promotion", values={"mypos_discount_type": "free_item"})


def test_rewards_carry_their_attributes_in_the_api(organization, programs, pos, definitions):
    with tenant_context(organization):
        Reward.objects.create(
            name="Free cake",
            required_credits=50,
            attributes={"mypos_discount_type": "free_item", "mypos_product_code": ["SKU2"]},
        )
    customer = create_customer(organization, points=60)

    catalog = pos.get(f"/webhook/customers/{customer.customer_code}/rewards").json()["data"]

    assert catalog[0]["attributes"] == {"mypos_discount_type": "free_item", "mypos_product_code": ["SKU2"]}


def test_admin_refuses_invalid_reward_attributes(organization, client_a, definitions):
    staff_login(client_a, organization)
    form = {
        "name": "Cake",
        "description": "",
        "required_credits": 50,
        "is_active": "on",
        "attributes": '{"mypos_discount_type": "half_off"}',
    }

    refused = client_a.post("/admin/rewards/reward/add/", form)
    accepted = client_a.post(
        "/admin/rewards/reward/add/", {**form, "attributes": '{"mypos_discount_type": "free_item"}'}
    )

    assert refused.status_code == 200 and "attribute invalid: mypos_discount_type" in refused.content.decode()
    assert accepted.status_code == 302
    with tenant_context(organization):
        assert list(Reward.objects.values_list("attributes", flat=True)) == [
            {"mypos_discount_type": "free_item"}
        ]


def test_admin_requires_choices_for_choice_attributes(organization, client_a):
    staff_login(client_a, organization)
    response = client_a.post(
        "/admin/attributes/attributedefinition/add/",
        {"entity": "reward", "name": "mypos_kind", "label": "Kind", "kind": "choice", "choices": "[]"},
    )
    assert response.status_code == 200 and "Give the choices" in response.content.decode()
    with tenant_context(organization):
        assert not AttributeDefinition.objects.exists()
