"""Campaign boosts in a till's earn (POST /webhook/pos) and its reversal: what each campaign
adds is part of the earn's one ledger entry, recorded per action, answered per campaign, and
taken back by the reversal; campaigns that are not on, not for the customer or of another
organization add nothing and leave the contract's body as it was."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign, CampaignBoost, CampaignRun
from loyalty_platform.programs.models import LedgerEntry
from tests.campaigns.boosts_helpers import (
    bonus_points,
    bonus_stamps,
    campaign_with,
    list_segment,
    multiplier,
    not_today,
    today,
)
from tests.pos_fixtures import (
    PosClient,
    balances,
    committed_organization,
    create_customer,
    issue_key,
    run_at_once,
)


def earn(pos, customer, amount, external_id, card_type="point"):
    body = {"customer_code": customer.customer_code, "amount": amount, "external_id": external_id}
    if card_type != "point":
        body["card_type"] = card_type
    return pos.post("/webhook/pos", body)


def boost_rows(organization, external_id):
    with tenant_context(organization):
        return list(
            CampaignBoost.objects.filter(external_id=external_id)
            .order_by("pk")
            .values_list(
                "campaign__name", "action__kind", "points", "stamps", "points_returned", "stamps_returned"
            )
        )


def entries(organization, customer, card_type="point"):
    with tenant_context(organization):
        return list(
            LedgerEntry.objects.filter(card__customer=customer, card__program__kind=card_type)
            .order_by("pk")
            .values_list("cause", "delta", "balance_after", "external_id")
        )


def test_multiplier_and_visit_bonus_add_to_the_earns_one_entry(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        double = campaign_with(multiplier("2"), name="Double")
        # A smaller multiplier loses to the best one: only one multiplier counts.
        lesser = campaign_with(multiplier("1.5"), name="Lesser")
        bonus = campaign_with(bonus_points(50, minimum_spend=Decimal("10.00")), name="Bonus")
        run = CampaignRun.objects.create(
            campaign=double, key="once", starts_at=double.starts_at, status="open"
        )

    response = earn(pos, customer, "12.50", "sale-1")

    # 12.50 earns 12; double adds 12 (12.5 rounded down on its own), the bonus 50.
    assert response.json() == {
        "data": {
            "stamps": 0,
            "points": 74,
            "campaigns": [
                {"id": double.pk, "name": "Double", "points": 12},
                {"id": bonus.pk, "name": "Bonus", "points": 50},
            ],
        }
    }
    assert entries(organization, customer) == [("earn", 74, 74, "sale-1")]
    assert boost_rows(organization, "sale-1") == [
        ("Double", "points_multiplier", 12, 0, 0, 0),
        ("Bonus", "bonus_points", 50, 0, 0, 0),
    ]
    with tenant_context(organization):
        assert list(
            CampaignBoost.objects.order_by("pk").values_list("run_id", "customer_id", "ledger_entry__delta")
        ) == [
            (run.pk, customer.pk, 74),
            (None, customer.pk, 74),
        ]
        assert not CampaignBoost.objects.filter(campaign=lesser).exists()

    # Below the minimum spend: the multiplier alone.
    small = earn(pos, customer, "9.99", "sale-2")
    assert small.json()["data"]["campaigns"] == [{"id": double.pk, "name": "Double", "points": 9}]
    assert small.json()["data"]["points"] == 74 + 9 + 9


def test_a_replayed_earn_answers_the_stored_body_and_boosts_once(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        campaign_with(multiplier("3"), name="Triple")
    first = earn(pos, customer, "10", "sale-1")

    again = earn(pos, customer, "10", "sale-1")

    assert again.content == first.content
    assert first.json()["data"]["points"] == 30
    assert len(boost_rows(organization, "sale-1")) == 1
    assert balances(organization, customer)["point"] == (30, 30, 1)


def test_bonus_stamps_count_towards_filling_the_card(organization, programs, pos):
    customer = create_customer(organization, stamps=8)
    with tenant_context(organization):
        extra = campaign_with(bonus_stamps(2), name="Extra stamp")
        # Point boosts do nothing to stamps.
        campaign_with(multiplier("2"), bonus_points(5), name="Points only")

    response = earn(pos, customer, 1, "stamp-1", card_type="stamp")

    data = response.json()["data"]
    # 8 + 1 earned + 2 bonus = 11: the card of 10 fills, one stamp carries over.
    assert (data["stamps"], data["points"], data["coupon"]["name"]) == (1, 0, "Free Coffee")
    assert data["campaigns"] == [{"id": extra.pk, "name": "Extra stamp", "stamps": 2}]
    assert entries(organization, customer, "stamp") == [
        ("adjust", 8, 8, ""),
        ("earn", 3, 11, "stamp-1"),
        ("reward", -10, 1, "stamp-1"),
    ]
    assert boost_rows(organization, "stamp-1") == [("Extra stamp", "bonus_stamps", 0, 2, 0, 0)]


def test_the_reversal_of_a_boosted_earn_takes_the_boost_back(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        double = campaign_with(multiplier("2"), bonus_points(5), name="Double")
    earn(pos, customer, "20", "sale-1")

    reversed_ = pos.post("/webhook/transactions/sale-1/reverse", {"external_id": "void-1"})

    assert reversed_.json() == {
        "data": {
            "reversed": "sale-1",
            "kind": "earn",
            "stamps": 0,
            "points": 0,
            "points_unrecovered": 0,
            "stamps_unrecovered": 0,
            "coupon_already_used": False,
            "campaigns": [{"id": double.pk, "name": "Double", "points": 25}],
        }
    }
    assert entries(organization, customer) == [("earn", 45, 45, "sale-1"), ("reversal", -45, 0, "void-1")]
    assert boost_rows(organization, "sale-1") == [
        ("Double", "points_multiplier", 20, 0, 20, 0),
        ("Double", "bonus_points", 5, 0, 5, 0),
    ]


def test_the_reversal_of_a_stamp_earn_takes_the_bonus_stamps_back(organization, programs, pos):
    customer = create_customer(organization, stamps=8)
    with tenant_context(organization):
        extra = campaign_with(bonus_stamps(2), name="Extra stamp")
    earn(pos, customer, 1, "stamp-1", card_type="stamp")

    reversed_ = pos.post("/webhook/transactions/stamp-1/reverse", {"external_id": "void-1"})

    data = reversed_.json()["data"]
    assert (data["stamps"], data["campaigns"]) == (8, [{"id": extra.pk, "name": "Extra stamp", "stamps": 2}])
    assert boost_rows(organization, "stamp-1") == [("Extra stamp", "bonus_stamps", 0, 2, 0, 2)]


def test_an_earn_without_boost_reversed_answers_the_contracts_body(organization, programs, pos):
    customer = create_customer(organization)
    earn(pos, customer, "20", "sale-1")

    reversed_ = pos.post("/webhook/transactions/sale-1/reverse", {"external_id": "void-1"})

    assert "campaigns" not in reversed_.json()["data"]


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Campaign.Status.PAUSED},
        {"status": Campaign.Status.CANCELLED},
        {"status": Campaign.Status.ENDED},
        {"status": Campaign.Status.DRAFT},
        {"status": Campaign.Status.SCHEDULED},
        {"recurrence_weekdays": "not today"},
        {"ends_at": "an hour ago"},
        {"starts_at": "in an hour"},
        {"trigger": Campaign.Trigger.BIRTHDAY},
    ],
    ids=lambda fields: "-".join(str(value) for value in fields.values()),
)
def test_a_campaign_that_is_not_on_adds_nothing(organization, programs, pos, fields):
    customer = create_customer(organization)
    now = timezone.now()
    values = {
        "not today": not_today(),
        "an hour ago": now - timedelta(minutes=30),
        "in an hour": now + timedelta(hours=1),
    }
    with tenant_context(organization):
        campaign_with(multiplier("2"), bonus_points(50), **{k: values.get(v, v) for k, v in fields.items()})

    response = earn(pos, customer, "12.50", "sale-1")

    assert response.content == b'{"data":{"stamps":0,"points":12}}'
    assert boost_rows(organization, "sale-1") == []


def test_a_campaign_paused_by_save_stops_boosting_at_once(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        campaign = campaign_with(multiplier("2"), recurrence_weekdays=today())
    assert earn(pos, customer, "10", "sale-1").json()["data"]["points"] == 20

    with tenant_context(organization):
        campaign.status = Campaign.Status.PAUSED
        campaign.save()

    assert earn(pos, customer, "10", "sale-2").json() == {"data": {"stamps": 0, "points": 30}}


def test_a_segment_campaign_boosts_its_members_only(organization, programs, pos):
    member, outsider = create_customer(organization), create_customer(organization)
    with tenant_context(organization):
        members_only = campaign_with(multiplier("2"), name="Members", segment=list_segment(member))

    inside = earn(pos, member, "10", "sale-1")
    outside = earn(pos, outsider, "10", "sale-2")

    assert inside.json()["data"] == {
        "stamps": 0,
        "points": 20,
        "campaigns": [{"id": members_only.pk, "name": "Members", "points": 10}],
    }
    assert outside.json() == {"data": {"stamps": 0, "points": 10}}


def test_another_organizations_running_campaign_never_applies(
    organization, other_organization, programs, pos, pos_b
):
    customer = create_customer(organization)
    with tenant_context(other_organization):
        campaign_with(multiplier("5"), bonus_points(100), name="Theirs")

    response = earn(pos, customer, "10", "sale-1")

    assert response.json() == {"data": {"stamps": 0, "points": 10}}
    assert boost_rows(organization, "sale-1") == []


RACE_SLUG = "test-boosts-race"


@pytest.fixture
def race(committed_db):
    organization, created = committed_organization(RACE_SLUG, "Racing Boosts")
    if created:
        with tenant_context(organization):
            campaign_with(multiplier("2"), bonus_points(3), name="Race double")
    return organization, PosClient(f"{RACE_SLUG}.localhost", issue_key(organization))


def test_two_tills_earning_at_once_for_one_customer_boost_twice(race):
    organization, pos = race
    customer = create_customer(organization)
    prefix = f"race-{customer.customer_code}"

    answers = run_at_once(2, lambda index: earn(pos, customer, "10", f"{prefix}-{index}"))

    assert sorted(answer.status_code for answer in answers) == [200, 200]
    assert sorted(answer.json()["data"]["points"] for answer in answers) == [23, 46]
    assert balances(organization, customer)["point"] == (46, 46, 2)
    with tenant_context(organization):
        rows = CampaignBoost.objects.filter(customer=customer)
        assert sorted(rows.values_list("external_id", "points")) == [
            (f"{prefix}-0", 3),
            (f"{prefix}-0", 10),
            (f"{prefix}-1", 3),
            (f"{prefix}-1", 10),
        ]
