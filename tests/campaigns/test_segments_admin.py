"""The segment pages of the merchant portal: building a segment with its rules, its size and
sample on the change page, the refused incomplete rule, who may see them, and another
organization's segment id."""

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.roles import CASHIER, MARKETING
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns.models import Segment, SegmentRule
from tests.campaigns.segments_fixtures import card, customer
from tests.factories import StaffUserFactory

PASSWORD = "correct horse battery"
SEGMENTS = "/admin/campaigns/segment/"


def login(client, organization, role: str, email: str = "marketing@example.com"):
    with tenant_context(organization):
        user = StaffUserFactory(email=email, role=role)
    assert client.login(email=email, password=PASSWORD)
    return user


def rules_formset(*rules: dict) -> dict:
    data = {
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for index, rule in enumerate(rules):
        base = {
            "comparison": "gte",
            "amount": "",
            "days": "",
            "date": "",
            "tier": "",
            "shop": "",
            "reward": "",
        }
        for name, value in {**base, "promotion": "", **rule}.items():
            data[f"rules-{index}-{name}"] = value
    return data


@pytest.fixture
def shoppers(organization):
    with tenant_context(organization):
        rich = customer("rich@x.io", marketing=True)
        card(rich, balance=500)
        poor = customer("poor@x.io", marketing=True)
        card(poor, balance=10)
        customer("silent@x.io")
    return rich, poor


def test_staff_build_a_segment_with_two_rules_and_see_its_size_and_sample(client_a, organization, shoppers):
    login(client_a, organization, MARKETING)
    response = client_a.post(
        f"{SEGMENTS}add/",
        {
            "name": "Rich and reachable",
            "description": "",
            "match": "all",
            **rules_formset(
                {"kind": "marketing_consent"},
                {"kind": "points_balance", "comparison": "gte", "amount": "100"},
            ),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(organization):
        made = Segment.objects.get(name="Rich and reachable")
        assert list(made.rules.values_list("kind", flat=True)) == ["marketing_consent", "points_balance"]
        actions = list(AuditLogEntry.objects.order_by("pk").values_list("action", "target_type"))
    assert actions == [
        ("admin_add", "campaigns.Segment"),
        ("admin_add", "campaigns.SegmentRule"),
        ("admin_add", "campaigns.SegmentRule"),
    ]
    page = client_a.get(f"{SEGMENTS}{made.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert (page.context["segment_size"], [row["email"] for row in page.context["segment_sample"]]) == (
        1,
        ["rich@x.io"],
    )
    assert 'data-size="1"' in html and "rich@x.io" in html and "poor@x.io" not in html
    listing = client_a.get(SEGMENTS)
    assert listing.status_code == 200 and "Rich and reachable" in listing.content.decode()


def test_a_rule_lacking_its_value_is_refused_on_that_field_and_nothing_is_saved(client_a, organization):
    login(client_a, organization, MARKETING)
    response = client_a.post(
        f"{SEGMENTS}add/",
        {
            "name": "Incomplete",
            "description": "",
            "match": "any",
            **rules_formset({"kind": "points_earned", "comparison": "gte", "amount": "100"}),
        },
    )
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert list(errors) == ["days"] and errors.as_data()["days"][0].code == "segment_rule_invalid"
    with tenant_context(organization):
        assert (Segment.objects.count(), SegmentRule.objects.count(), AuditLogEntry.objects.count()) == (
            0,
            0,
            0,
        )


def test_a_cashier_sees_no_segment_page(client_a, organization, shoppers):
    with tenant_context(organization):
        segment = Segment.objects.create(name="Regulars")
    login(client_a, organization, CASHIER, email="cashier@example.com")
    for url in (
        SEGMENTS,
        f"{SEGMENTS}{segment.pk}/change/",
        f"{SEGMENTS}{segment.pk}/list/",
        f"{SEGMENTS}{segment.pk}/list/import/",
    ):
        assert client_a.get(url).status_code == 403, url


def test_another_organizations_segment_id_answers_404(client_a, client_b, organization, other_organization):
    with tenant_context(organization):
        mine = Segment.objects.create(pk=777_777, name="Mine")
    login(client_b, other_organization, MARKETING)
    for url in (
        f"{SEGMENTS}{mine.pk}/change/",
        f"{SEGMENTS}{mine.pk}/list/",
        f"{SEGMENTS}{mine.pk}/list/import/",
        f"{SEGMENTS}{mine.pk}/list/import/confirm/",
    ):
        response = client_b.get(url)
        assert response.status_code == 404, url
        assert "Mine" not in response.content.decode()
