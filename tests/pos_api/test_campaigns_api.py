"""GET /webhook/campaigns (a till's display), and the campaigns in the wallet and the
customer look-up: what is on now, for whom, never another organization's."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign
from loyalty_platform.campaigns.selectors import organization_zone
from tests.campaigns.boosts_helpers import (
    bonus_points,
    bonus_stamps,
    campaign_with,
    list_segment,
    multiplier,
    not_today,
)
from tests.pos_fixtures import PosClient, create_customer, issue_key


def shown(campaign: Campaign, audience: str, boosts: list[dict]) -> dict:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "description": campaign.description,
        "audience": audience,
        "starts_at": campaign.starts_at.isoformat(),
        "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
        "boosts": boosts,
    }


DOUBLE = {
    "kind": "points_multiplier",
    "applies_to": "all",
    "match_values": [],
    "multiplier": "2",
    "points": 0,
    "stamps": 0,
    "minimum_spend": None,
    "text": "2x points on everything",
}


@pytest.fixture
def on_now(organization, programs):
    """A campaign for everyone, one for a segment (with one member), and some that are not on."""
    member = create_customer(organization)
    with tenant_context(organization):
        everyone = campaign_with(
            multiplier("2"),
            bonus_points(50, minimum_spend=Decimal("20.00")),
            name="Double weekend",
            ends_at=timezone.now() + timedelta(days=1),
        )
        members = campaign_with(
            bonus_points(5, "category", "coffee,tea"),
            bonus_stamps(1),
            name="Regulars",
            segment=list_segment(member),
        )
        campaign_with(multiplier("3"), name="Paused", status=Campaign.Status.PAUSED)
        campaign_with(multiplier("3"), name="Ended", status=Campaign.Status.ENDED)
        campaign_with(multiplier("3"), name="Not today", recurrence_weekdays=not_today())
        campaign_with(bonus_points(9), name="Birthday", trigger=Campaign.Trigger.BIRTHDAY)
    return everyone, members, member


def expected(everyone, members):
    return [
        shown(
            everyone,
            "everyone",
            [
                DOUBLE,
                {
                    "kind": "bonus_points",
                    "applies_to": "visit",
                    "match_values": [],
                    "multiplier": "1",
                    "points": 50,
                    "stamps": 0,
                    "minimum_spend": "20.00",
                    "text": "+50 points per visit (minimum spend 20)",
                },
            ],
        ),
        shown(
            members,
            "segment",
            [
                {
                    "kind": "bonus_points",
                    "applies_to": "category",
                    "match_values": ["coffee", "tea"],
                    "multiplier": "1",
                    "points": 5,
                    "stamps": 0,
                    "minimum_spend": None,
                    "text": "+5 points per unit on coffee,tea",
                },
                {
                    "kind": "bonus_stamps",
                    "applies_to": "visit",
                    "match_values": [],
                    "multiplier": "1",
                    "points": 0,
                    "stamps": 1,
                    "minimum_spend": None,
                    "text": "+1 stamp per visit",
                },
            ],
        ),
    ]


def test_the_till_sees_every_campaign_on_now(organization, on_now, pos):
    everyone, members, _ = on_now

    response = pos.get("/webhook/campaigns")

    assert response.status_code == 200
    assert response.json() == {"data": expected(everyone, members)}


def test_with_a_customer_only_the_campaigns_that_apply_to_them(organization, on_now, pos):
    everyone, members, member = on_now
    outsider = create_customer(organization)

    mine = pos.get("/webhook/campaigns", {"customer_code": member.customer_code}).json()["data"]
    theirs = pos.get("/webhook/campaigns", {"customer_code": str(outsider.customer_code)}).json()["data"]

    assert mine == expected(everyone, members)
    assert theirs == expected(everyone, members)[:1]


def test_an_occurrence_ends_at_the_end_of_its_day(organization, programs, pos):
    with tenant_context(organization):
        today = timezone.now().astimezone(organization_zone())
        daily = campaign_with(multiplier("2"), name="Today", recurrence_weekdays=str(today.weekday()))
        midnight = (today + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)

    data = pos.get("/webhook/campaigns").json()["data"]

    assert [(entry["id"], entry["ends_at"]) for entry in data] == [(daily.pk, midnight.isoformat())]


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("abc", 422, "customer_code_invalid"),
        ("12345", 422, "customer_code_invalid"),
        ("1234567", 422, "customer_code_invalid"),
        ("", 422, "customer_code_invalid"),
        ("999999", 404, "customer_not_found"),
    ],
)
def test_a_bad_customer_code_is_refused(organization, on_now, pos, code, status, error):
    response = pos.get("/webhook/campaigns", {"customer_code": code})

    body = {"error": error, "field": "customer_code"} if status == 422 else {"error": error}
    assert (response.status_code, response.json()) == (status, body)


def test_no_key_no_campaigns(organization, on_now):
    response = PosClient("test-a.localhost", None).get("/webhook/campaigns")

    assert (response.status_code, response.json()) == (401, {"error": "invalid or missing API key"})


def test_another_organization_never_sees_the_campaigns_nor_the_customers(
    organization, other_organization, on_now, pos_b
):
    _, _, member = on_now

    assert pos_b.get("/webhook/campaigns").json() == {"data": []}
    answer = pos_b.get("/webhook/campaigns", {"customer_code": member.customer_code})
    assert (answer.status_code, answer.json()) == (404, {"error": "customer_not_found"})
    # A's key on B's host is refused.
    crossed = PosClient("test-b.localhost", issue_key(organization)).get("/webhook/campaigns")
    assert (crossed.status_code, crossed.json()) == (401, {"error": "invalid or missing API key"})


def test_the_list_counts_against_the_look_up_rate_limit(organization, on_now):
    pos = PosClient("test-a.localhost", issue_key(organization, rate_limits={"customer": 2}))

    answers = [pos.get("/webhook/campaigns").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_the_wallet_lists_the_campaigns_that_apply(organization, on_now, pos):
    everyone, members, member = on_now
    outsider = create_customer(organization)

    mine = pos.get(f"/webhook/customers/{member.customer_code}/wallet").json()["data"]
    theirs = pos.get(f"/webhook/customers/{outsider.customer_code}/wallet").json()["data"]

    assert mine["campaigns"] == expected(everyone, members)
    assert theirs["campaigns"] == expected(everyone, members)[:1]


def test_the_wallet_without_campaigns_has_an_empty_list(organization, programs, pos):
    customer = create_customer(organization)

    assert pos.get(f"/webhook/customers/{customer.customer_code}/wallet").json()["data"]["campaigns"] == []


def test_the_look_up_shows_campaigns_only_when_some_apply(organization, programs, pos):
    member, outsider = create_customer(organization, points=7), create_customer(organization)
    with tenant_context(organization):
        members = campaign_with(multiplier("2"), name="Members", segment=list_segment(member))

    found = pos.get("/webhook/customer", {"code": member.customer_code}).json()["data"]
    plain = pos.get("/webhook/customer", {"code": outsider.customer_code})

    assert found["campaigns"] == [shown(members, "segment", [DOUBLE])]
    assert plain.json() == {
        "data": {
            "customer_code": outsider.customer_code,
            "masked_email": plain.json()["data"]["masked_email"],
            "stamp_count": 0,
            "point_balance": 0,
            "status": "active",
        }
    }
    assert b"campaigns" not in plain.content
