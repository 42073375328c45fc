"""Campaign boosts in orders (POST /webhook/orders, the preview, returns, receipt claims):
per category, per SKU, per visit with a minimum spend, on top of earning rules and the tier;
what each campaign added is exact per line, and returns take back exactly its share."""

from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.boosts import boosts_at
from loyalty_platform.campaigns.models import CampaignBoost
from loyalty_platform.orders.earning import LineInput, earning_compute
from loyalty_platform.orders.models import EarningRule, Order
from loyalty_platform.orders.services import order_claim
from loyalty_platform.programs.models import LedgerEntry
from loyalty_platform.programs.selectors import active_program
from tests.campaigns.boosts_helpers import bonus_points, campaign_with, list_segment, multiplier
from tests.pos_fixtures import create_customer

LINES = [
    {"sku": "LATTE", "name": "Latte", "category": "Coffee", "quantity": "2", "unit_price": "3.50"},
    {"sku": "CROISSANT", "name": "Croissant", "category": "bakery", "quantity": "1", "unit_price": "4.00"},
]


def basket(organization, customer, external_id="o-1", total="11.00", lines=LINES):
    body = {"external_id": external_id, "currency": organization.currency, "total": total, "lines": lines}
    if customer is not None:
        body["customer_code"] = customer.customer_code
    return body


def three_campaigns():
    """Triple on coffee, 5 per croissant, 20 per visit from 10.00."""
    return (
        campaign_with(multiplier("3", "category", "coffee, tea"), name="Coffee triple"),
        campaign_with(bonus_points(5, "sku", "CROISSANT"), name="Croissant bonus"),
        campaign_with(bonus_points(20, minimum_spend=Decimal("10.00")), name="Visit bonus"),
    )


def boosts(organization, order_external_id):
    with tenant_context(organization):
        return list(
            CampaignBoost.objects.filter(order__external_id=order_external_id)
            .order_by("pk")
            .values_list("campaign__name", "points", "points_returned", "line_points")
        )


def ledger(organization, customer):
    with tenant_context(organization):
        return list(
            LedgerEntry.objects.filter(card__customer=customer)
            .order_by("pk")
            .values_list("cause", "delta", "balance_after", "external_id")
        )


def test_category_sku_and_visit_boosts_add_to_the_orders_lines_and_entry(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        coffee, croissant, visit = three_campaigns()

    response = pos.post("/webhook/orders", basket(organization, customer))

    data = response.json()["data"]
    # Base 7 + 4; coffee triple adds 14 on the lattes, 5 for the croissant, 20 for the visit.
    assert (data["points_earned"], data["visit_bonus_points"], data["point_balance"]) == (50, 20, 50)
    assert [line["points_earned"] for line in data["lines"]] == [21, 9]
    assert data["campaigns"] == [
        {"id": coffee.pk, "name": "Coffee triple", "points": 14},
        {"id": croissant.pk, "name": "Croissant bonus", "points": 5},
        {"id": visit.pk, "name": "Visit bonus", "points": 20},
    ]
    assert ledger(organization, customer) == [("order", 50, 50, "o-1")]
    assert boosts(organization, "o-1") == [
        ("Coffee triple", 14, 0, {"0": 14}),
        ("Croissant bonus", 5, 0, {"1": 5}),
        ("Visit bonus", 20, 0, {}),
    ]


def test_below_the_minimum_spend_there_is_no_visit_bonus(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        three_campaigns()

    # A discount brings the total under 10.00: the lines earn on what was paid.
    data = pos.post("/webhook/orders", basket(organization, customer, total="9.90")).json()["data"]

    assert [entry["name"] for entry in data["campaigns"]] == ["Coffee triple", "Croissant bonus"]
    assert data["visit_bonus_points"] == 0


def test_the_preview_answers_what_the_order_then_earns(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        three_campaigns()

    preview = pos.post("/webhook/orders/preview", basket(organization, customer)).json()["data"]
    order = pos.post("/webhook/orders", basket(organization, customer)).json()["data"]

    assert preview["campaigns"] == order["campaigns"]
    assert (preview["points_earned"], preview["visit_bonus_points"]) == (order["points_earned"], 20)
    assert [line["points_earned"] for line in preview["lines"]] == [
        line["points_earned"] for line in order["lines"]
    ]


def test_returns_take_back_exactly_what_each_campaign_added(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        coffee, croissant, visit = three_campaigns()
    pos.post("/webhook/orders", basket(organization, customer))

    one_latte = pos.post(
        "/webhook/orders/o-1/returns", {"external_id": "r-1", "lines": [{"sku": "LATTE", "quantity": "1"}]}
    ).json()["data"]

    # Half the lattes: half of their 21 (10.5 rounds to 11), of which half of coffee's 14.
    assert (one_latte["points_due"], one_latte["point_balance"]) == (11, 39)
    assert one_latte["campaigns"] == [{"id": coffee.pk, "name": "Coffee triple", "points": 7}]
    assert boosts(organization, "o-1") == [
        ("Coffee triple", 14, 7, {"0": 14}),
        ("Croissant bonus", 5, 0, {"1": 5}),
        ("Visit bonus", 20, 0, {}),
    ]

    rest = pos.post("/webhook/orders/o-1/returns", {"external_id": "r-2"}).json()["data"]

    assert (rest["points_due"], rest["point_balance"]) == (10 + 9 + 20, 0)
    assert rest["campaigns"] == [
        {"id": coffee.pk, "name": "Coffee triple", "points": 7},
        {"id": croissant.pk, "name": "Croissant bonus", "points": 5},
        {"id": visit.pk, "name": "Visit bonus", "points": 20},
    ]
    assert "campaigns" not in rest["order"]
    assert [(name, points, back) for name, points, back, _ in boosts(organization, "o-1")] == [
        ("Coffee triple", 14, 14),
        ("Croissant bonus", 5, 5),
        ("Visit bonus", 20, 20),
    ]
    assert ledger(organization, customer) == [
        ("order", 50, 50, "o-1"),
        ("return", -11, 39, "r-1"),
        ("return", -39, 0, "r-2"),
    ]


def test_a_return_of_an_unboosted_line_takes_nothing_from_a_campaign(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        campaign_with(multiplier("3", "category", "coffee"), name="Coffee triple")
    pos.post("/webhook/orders", basket(organization, customer))

    answer = pos.post(
        "/webhook/orders/o-1/returns",
        {"external_id": "r-1", "lines": [{"sku": "CROISSANT", "quantity": "1"}]},
    )

    assert "campaigns" not in answer.json()["data"]
    assert boosts(organization, "o-1") == [("Coffee triple", 14, 0, {"0": 14})]


def test_the_best_campaign_multiplier_counts_on_top_of_rules_and_tier(organization, programs):
    """earning_compute alone: an earning rule doubles coffee, the tier gives 1.5; campaigns
    triple everything and double coffee: each line gets the triple (the best), nothing of the
    double, and the triple's extra points are rounded once and shared out by remainder."""
    with tenant_context(organization):
        rule = EarningRule(applies_to="category", match_values="coffee", effect="multiplier", multiplier=2)
        campaign_with(multiplier("3"), name="Triple")
        campaign_with(multiplier("2", "category", "coffee"), name="Double coffee")
        program = active_program("point")
        lines = [
            LineInput(sku="A", name="", category="coffee", quantity=Decimal("1"), unit_price=Decimal("0.30")),
            LineInput(sku="B", name="", category="bakery", quantity=Decimal("1"), unit_price=Decimal("0.70")),
        ]
        now = timezone.now()
        earning = earning_compute(
            program=program,
            rules=[rule],
            lines=lines,
            total=Decimal("1.00"),
            tier_multiplier=Decimal("1.5"),
            at=now,
            boosts=boosts_at(customer_id=None, at=now),
        )

    # Exact base: 0.30*2*1.5 = 0.9 and 0.70*1.5 = 1.05, 1.95 rounds down to 1: shared [0, 1].
    # The triple's extra: 1.8 and 2.1, 3.9 rounds down to 3: shared by remainder [1, 2].
    assert [(line.points, line.campaign_points) for line in earning.lines] == [(1, 1), (3, 2)]
    assert [(effect.boost.campaign.name, effect.points, effect.line_points) for effect in earning.boosts] == [
        ("Triple", 3, {0: 1, 1: 2})
    ]
    assert earning.points == 4


def test_an_order_naming_no_customer_gets_campaigns_for_everyone_and_the_claim_credits_them(
    organization, programs, pos
):
    member = create_customer(organization)
    with tenant_context(organization):
        everyone = campaign_with(bonus_points(20), name="Everyone")
        campaign_with(multiplier("5"), name="Members", segment=list_segment(member))

    data = pos.post("/webhook/orders", basket(organization, None)).json()["data"]

    assert data["campaigns"] == [{"id": everyone.pk, "name": "Everyone", "points": 20}]
    assert data["points_earned"] == 31
    with tenant_context(organization):
        order_claim(order_external_id="o-1", customer=member)
        assert Order.objects.get(external_id="o-1").customer_id == member.pk
        assert list(CampaignBoost.objects.values_list("customer_id", "points")) == [(member.pk, 20)]
    assert ledger(organization, member) == [("order", 31, 31, "o-1")]


def test_an_order_without_campaigns_answers_the_body_it_answered_before(organization, programs, pos):
    customer = create_customer(organization)
    with tenant_context(organization):
        campaign_with(multiplier("2"), name="Paused", status="paused")

    order = pos.post("/webhook/orders", basket(organization, customer)).json()["data"]
    preview = pos.post("/webhook/orders/preview", basket(organization, customer)).json()["data"]
    returned = pos.post("/webhook/orders/o-1/returns", {"external_id": "r-1"}).json()["data"]

    assert "campaigns" not in order and "campaigns" not in preview and "campaigns" not in returned
    assert order["points_earned"] == 11
    assert boosts(organization, "o-1") == []
