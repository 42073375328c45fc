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


def reward_form(**changes) -> dict:
    return {"name": "Cake", "description": "", "required_credits": 50, "is_active": "on", **changes}


def test_the_reward_form_has_one_typed_field_per_attribute(organization, client_a, definitions):
    staff_login(client_a, organization)

    page = client_a.get("/admin/rewards/reward/add/").content.decode()

    assert '<select name="attribute_mypos_discount_type"' in page
    assert 'type="number" name="attribute_mypos_discount_value"' in page
    assert page.count('type="checkbox" name="attribute_mypos_product_code"') == 3
    assert 'type="text" name="attribute_mypos_category"' in page
    assert '<select name="attribute_mypos_stackable"' in page
    assert 'name="attributes"' not in page  # no JSON box


def test_the_reward_form_shows_every_attribute_error_at_once(organization, client_a, definitions):
    staff_login(client_a, organization)

    refused = client_a.post(
        "/admin/rewards/reward/add/",
        reward_form(
            attribute_mypos_discount_type="half_off",
            attribute_mypos_discount_value="ten",
            attribute_mypos_product_code=["SKU9"],
            attribute_mypos_stackable="maybe",
        ),
    )

    errors = refused.context_data["adminform"].form.errors
    assert sorted(errors) == [
        "attribute_mypos_discount_type",
        "attribute_mypos_discount_value",
        "attribute_mypos_product_code",
        "attribute_mypos_stackable",
    ]
    with tenant_context(organization):
        assert not Reward.objects.exists()


def test_the_reward_form_saves_typed_attribute_values_and_shows_them_again(
    organization, client_a, definitions
):
    staff_login(client_a, organization)

    accepted = client_a.post(
        "/admin/rewards/reward/add/",
        reward_form(
            attribute_mypos_discount_type="free_item",
            attribute_mypos_discount_value="2.50",
            attribute_mypos_product_code=["SKU2", "SKU3"],
            attribute_mypos_category="cakes",
            attribute_mypos_stackable="false",
            discount_type="free_item",
            product_code="SKU2",
        ),
    )

    assert accepted.status_code == 302
    with tenant_context(organization):
        reward = Reward.objects.get()
    assert reward.attributes == {
        "mypos_discount_type": "free_item",
        "mypos_discount_value": 2.5,
        "mypos_product_code": ["SKU2", "SKU3"],
        "mypos_category": "cakes",
        "mypos_stackable": False,
    }
    page = client_a.get(f"/admin/rewards/reward/{reward.pk}/change/").content.decode()
    assert '<option value="free_item" selected>' in page and 'value="cakes"' in page
    assert '<option value="false" selected>' in page


def test_admin_requires_choices_for_choice_attributes(organization, client_a):
    staff_login(client_a, organization)
    response = client_a.post(
        "/admin/attributes/attributedefinition/add/",
        {"entity": "reward", "name": "mypos_kind", "label": "Kind", "kind": "choice", "choices": ""},
    )
    assert response.status_code == 200 and "Give the choices" in response.content.decode()
    with tenant_context(organization):
        assert not AttributeDefinition.objects.exists()
