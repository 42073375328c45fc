"""What a basket earns. Pure: the same inputs always give the same points, so the preview and
the order agree, and a test can check the arithmetic without a database.

Per line: base = amount * order discount * (share not paid with points) * points per unit,
times the best matching multiplier rule and the customer's tier multiplier. The base points
of all lines are rounded once for the order (the program's rounding) and then shared out to
the lines by largest remainder, so the lines add up to the order exactly and small lines are
not each rounded away. Bonus rules add whole points per whole unit; visit bonuses per order.

Campaign boosts (passed in: campaigns.boosts.boosts_at) come on top: on each line the best
campaign multiplier multiplies the line's exact points again; each multiplier's extra points
are rounded once for the order and shared out to its lines the same way, so every campaign
adds a whole number of its own. Campaign bonuses add up: per whole unit of matching lines,
or once per order (with its minimum spend). Excluded lines get no boost.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty_platform.campaigns.boosts import PER_LINE, PER_VISIT, Boost, BoostEffect
from loyalty_platform.campaigns.models import CampaignAction
from loyalty_platform.orders.models import EarningRule
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.services import round_points

ZERO = Decimal("0")
ONE = Decimal("1")


@dataclass(frozen=True)
class LineInput:
    sku: str
    name: str
    category: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class LineEarning:
    line: LineInput
    points: int
    bonus_points: int
    multiplier: Decimal
    excluded: bool
    campaign_points: int = 0  # part of points that campaign boosts added


@dataclass(frozen=True)
class Earning:
    lines: list[LineEarning]
    visit_bonus: int  # earning rules' and campaigns' per-order bonuses
    tier_multiplier: Decimal
    boosts: tuple[BoostEffect, ...] = ()  # what each campaign boost added (only those that did)

    @property
    def points(self) -> int:
        return sum(line.points for line in self.lines) + self.visit_bonus


def _rule_in_force(rule: EarningRule, at: datetime) -> bool:
    return (rule.starts_at is None or rule.starts_at <= at) and (rule.ends_at is None or at < rule.ends_at)


def _matches(rule: EarningRule, line: LineInput) -> bool:
    if rule.applies_to == EarningRule.AppliesTo.CATEGORY:
        return line.category.strip().casefold() in rule.match_value_set()
    if rule.applies_to == EarningRule.AppliesTo.SKU:
        return line.sku in rule.match_value_set()
    return False


def _share_out(total: int, exact: list[Decimal]) -> list[int]:
    """Integers close to `exact` that add up to `total`, which must lie between the sum of
    the floors and that sum plus the number of values (any rounding of the exact sum does):
    the largest remainders get the extra points, the first line wins ties."""
    floors = [int(value.to_integral_value(rounding=ROUND_FLOOR)) for value in exact]
    extra = total - sum(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in by_remainder[:extra]:
        floors[index] += 1
    return floors


def earning_compute(
    *,
    program: Program,
    rules: list[EarningRule],
    lines: list[LineInput],
    total: Decimal,
    tier_multiplier: Decimal = ONE,
    paid_with_points: int = 0,
    at: datetime,
    boosts: Sequence[Boost] = (),
) -> Earning:
    in_force = [rule for rule in rules if _rule_in_force(rule, at)]
    excluded_categories = program.excluded_category_set()
    lines_sum = sum((line.amount for line in lines), ZERO)
    # A total below the lines' sum carries an order discount, which earns nothing.
    discount = min(ONE, total / lines_sum) if lines_sum > 0 else ZERO

    excluded = []
    for line in lines:
        line_rules = [rule for rule in in_force if _matches(rule, line)]
        excluded.append(
            line.category.strip().casefold() in excluded_categories
            or any(rule.effect == EarningRule.Effect.EXCLUDE for rule in line_rules)
        )
    eligible_amount = sum(
        (
            line.amount * discount
            for line, is_excluded in zip(lines, excluded, strict=True)
            if not is_excluded
        ),
        ZERO,
    )
    # Money paid with points does not earn points.
    paid_money = (
        Decimal(paid_with_points) / program.redeem_points_per_unit if program.redeem_points_per_unit else ZERO
    )
    unpaid_share = (
        max(ZERO, (eligible_amount - paid_money) / eligible_amount) if eligible_amount > 0 else ZERO
    )

    exact, bonuses, multipliers = [], [], []
    for line, is_excluded in zip(lines, excluded, strict=True):
        if is_excluded:
            exact.append(ZERO)
            bonuses.append(0)
            multipliers.append(ONE)
            continue
        line_rules = [rule for rule in in_force if _matches(rule, line)]
        multiplier = max(
            (rule.multiplier for rule in line_rules if rule.effect == EarningRule.Effect.MULTIPLIER),
            default=ONE,
        )
        whole_units = int(line.quantity.to_integral_value(rounding=ROUND_FLOOR))
        bonus = sum(rule.bonus_points for rule in line_rules if rule.effect == EarningRule.Effect.BONUS)
        exact.append(
            line.amount
            * discount
            * unpaid_share
            * program.earn_points_per_unit
            * multiplier
            * tier_multiplier
        )
        bonuses.append(bonus * whole_units)
        multipliers.append(multiplier)

    base_points = _share_out(round_points(sum(exact, ZERO), program.earn_rounding), exact)
    visit_bonus = 0
    if eligible_amount > 0:
        visit_bonus = sum(
            rule.bonus_points
            for rule in in_force
            if rule.applies_to == EarningRule.AppliesTo.VISIT
            and (rule.minimum_spend is None or total >= rule.minimum_spend)
        )
    effects = _boost_effects(
        boosts,
        program=program,
        lines=lines,
        excluded=excluded,
        exact=exact,
        total=total,
        earns=eligible_amount > 0,
    )
    campaign_points = [
        sum(effect.line_points.get(index, 0) for effect in effects) for index in range(len(lines))
    ]
    visit_bonus += sum(effect.points - sum(effect.line_points.values()) for effect in effects)
    return Earning(
        lines=[
            LineEarning(
                line=line,
                points=base_points[index] + bonuses[index] + campaign_points[index],
                bonus_points=bonuses[index],
                multiplier=multipliers[index],
                excluded=excluded[index],
                campaign_points=campaign_points[index],
            )
            for index, line in enumerate(lines)
        ],
        visit_bonus=visit_bonus,
        tier_multiplier=tier_multiplier,
        boosts=effects,
    )


def _boost_effects(
    boosts: Sequence[Boost],
    *,
    program: Program,
    lines: list[LineInput],
    excluded: list[bool],
    exact: list[Decimal],
    total: Decimal,
    earns: bool,
) -> tuple[BoostEffect, ...]:
    """What each boost adds to the order: its points on each line and per order."""
    if not boosts:
        return ()
    multipliers = [boost for boost in boosts if boost.action.kind == CampaignAction.Kind.POINTS_MULTIPLIER]
    # The best campaign multiplier of each line (the first campaign wins a tie).
    best: list[Boost | None] = []
    for line, is_excluded in zip(lines, excluded, strict=True):
        matching = [
            boost
            for boost in multipliers
            if not is_excluded
            and (
                boost.action.applies_to not in PER_LINE or boost.matches(sku=line.sku, category=line.category)
            )
        ]
        best.append(max(matching, key=lambda boost: boost.action.multiplier, default=None))
    effects = []
    for boost in boosts:
        action = boost.action
        line_points: dict[int, int] = {}
        per_order = 0
        if action.kind == CampaignAction.Kind.POINTS_MULTIPLIER:
            extra = [
                value * (action.multiplier - ONE) if best[index] is boost else ZERO
                for index, value in enumerate(exact)
            ]
            shares = _share_out(round_points(sum(extra, ZERO), program.earn_rounding), extra)
            line_points = {index: points for index, points in enumerate(shares) if points}
        elif action.kind == CampaignAction.Kind.BONUS_POINTS and action.applies_to in PER_LINE:
            for index, line in enumerate(lines):
                if not excluded[index] and boost.matches(sku=line.sku, category=line.category):
                    units = int(line.quantity.to_integral_value(rounding=ROUND_FLOOR))
                    if units and action.points:
                        line_points[index] = action.points * units
        elif (
            action.kind == CampaignAction.Kind.BONUS_POINTS
            and action.applies_to in PER_VISIT
            and earns
            and (action.minimum_spend is None or total >= action.minimum_spend)
        ):
            per_order = action.points
        points = sum(line_points.values()) + per_order
        if points:
            effects.append(BoostEffect(boost=boost, points=points, line_points=line_points))
    return tuple(effects)
