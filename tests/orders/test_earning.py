"""The earning arithmetic on its own (no database: rules and programs are unsaved models)."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_platform.orders.earning import LineInput, earning_compute
from loyalty_platform.orders.models import EarningRule
from loyalty_platform.programs.models import Program

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def program(**fields) -> Program:
    return Program(**{"kind": "point", "name": "Points", "earn_points_per_unit": Decimal("1"), **fields})


def line(sku, quantity, price, category="") -> LineInput:
    return LineInput(
        sku=sku, name=sku, category=category, quantity=Decimal(quantity), unit_price=Decimal(price)
    )


def compute(lines, total=None, rules=(), **kwargs):
    total = total if total is not None else sum((item.amount for item in lines), Decimal(0))
    return earning_compute(
        program=kwargs.pop("program", program()),
        rules=list(rules),
        lines=lines,
        total=total,
        at=NOW,
        **kwargs,
    )


def test_small_lines_are_not_each_rounded_away():
    earning = compute([line("a", 1, "0.60"), line("b", 1, "0.60"), line("c", 1, "0.60")])
    # 1.80 earns 1 point (rounded down once); the line with the first largest remainder gets it.
    assert [item.points for item in earning.lines] == [1, 0, 0]
    assert earning.points == 1


def test_giftcards_and_excluded_skus_earn_nothing_and_discounts_scale_down():
    rules = [EarningRule(name="no tobacco", applies_to="sku", match_values="TOB-1", effect="exclude")]
    earning = compute(
        [line("coffee", 2, "5"), line("gc", 1, "25", "GiftCard"), line("TOB-1", 1, "8")],
        total=Decimal("38"),  # 43 minus a 5.00 order discount
        rules=rules,
    )
    assert [(item.points, item.excluded) for item in earning.lines] == [(8, False), (0, True), (0, True)]


def test_best_multiplier_wins_bonuses_add_per_whole_unit_and_windows_are_respected():
    rules = [
        EarningRule(
            name="drinks x2", applies_to="category", match_values="Drinks", effect="multiplier", multiplier=2
        ),
        EarningRule(
            name="latte x3", applies_to="sku", match_values="latte", effect="multiplier", multiplier=3
        ),
        EarningRule(name="latte +5", applies_to="sku", match_values="latte", effect="bonus", bonus_points=5),
        EarningRule(
            name="past promo",
            applies_to="category",
            match_values="drinks",
            effect="multiplier",
            multiplier=10,
            ends_at=datetime(2026, 11, 1, tzinfo=UTC),
        ),
        EarningRule(
            name="visit", applies_to="visit", effect="bonus", bonus_points=10, minimum_spend=Decimal("10")
        ),
        EarningRule(
            name="big visit", applies_to="visit", effect="bonus", bonus_points=50, minimum_spend=Decimal("99")
        ),
    ]
    earning = compute([line("latte", "2.5", "4", "drinks"), line("tea", 1, "3", "DRINKS")], rules=rules)
    # latte: 10.00 x 3 = 30 + 5 x 2 whole units; tea: 3.00 x 2 = 6; visit bonus 10 (not 50).
    assert [(item.points, item.bonus_points, item.multiplier) for item in earning.lines] == [
        (40, 10, Decimal("3")),
        (6, 0, Decimal("2")),
    ]
    assert (earning.visit_bonus, earning.points) == (10, 56)


def test_tier_multiplier_and_points_paid_with_reduce_or_raise_the_base():
    earning = compute([line("a", 1, "10")], tier_multiplier=Decimal("1.5"))
    assert earning.points == 15
    # 300 points at 100 per unit paid 3.00 of 10.00: 7.00 earns.
    paid = compute([line("a", 1, "10")], program=program(redeem_points_per_unit=100), paid_with_points=300)
    assert paid.points == 7


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3),
            st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=2),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["down", "nearest", "up"]),
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal("20"), places=2),
)
def test_lines_add_up_to_the_order_rounded_once(lines, rounding, rate):
    items = [line(f"s{i}", quantity, price) for i, (quantity, price) in enumerate(lines)]
    rules_program = program(earn_rounding=rounding, earn_points_per_unit=rate)
    earning = compute(items, program=rules_program)
    exact = sum((item.amount * rate for item in items), Decimal(0))
    mode = {"down": "ROUND_FLOOR", "up": "ROUND_CEILING", "nearest": "ROUND_HALF_UP"}[rounding]
    expected = int(exact.quantize(Decimal(1), rounding=mode))
    assert earning.points == expected
    for item, result in zip(items, earning.lines, strict=True):
        assert abs(result.points - item.amount * rate) < 1
