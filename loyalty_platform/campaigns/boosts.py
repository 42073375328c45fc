"""Earn boosts: what running campaigns add to an earn or an order, and who gets them.

Which boosts apply comes from the cached running campaigns (selectors.campaigns_on_at): no
query while no campaign is on. A campaign for a segment costs one membership query per
distinct segment, and only while such a campaign is on. Only campaigns on their schedule
boost (trigger campaigns grant instead: their audience is per customer and period).

How boosts combine (docs/decisions/0040-campaign-boosts.md): on each order line the best
campaign multiplier counts, on top of the earning rules and the tier; bonuses add up. Each
campaign action's added points are its own integer, rounded once per order with the
program's rounding and shared out to lines by largest remainder (orders.earning), so what a
campaign added and what a return takes back from it are exact.

The points and stamps are part of the earn's or the order's own ledger entry (decision 38);
a CampaignBoost row per campaign action says which campaign added how many, and what
returns and reversals took back."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils.translation import gettext, ngettext

from loyalty_platform.campaigns.models import Campaign, CampaignAction, CampaignBoost, CampaignRun
from loyalty_platform.campaigns.schedule import Occurrence
from loyalty_platform.campaigns.segments import segment_contains
from loyalty_platform.campaigns.selectors import campaigns_on_at

Kind = CampaignAction.Kind
AppliesTo = CampaignAction.AppliesTo
# A bonus for "every purchase" is one per order or earn, as a visit bonus is.
PER_VISIT = (AppliesTo.VISIT, AppliesTo.ALL)
PER_LINE = (AppliesTo.CATEGORY, AppliesTo.SKU)


@dataclass(frozen=True)
class Boost:
    """A boost action of a campaign that is on, with the occurrence it is in."""

    campaign: Campaign
    action: CampaignAction
    occurrence: Occurrence

    def matches(self, *, sku: str, category: str) -> bool:
        values = (part.strip() for part in self.action.match_values.split(","))
        if self.action.applies_to == AppliesTo.CATEGORY:
            return category.strip().casefold() in {value.casefold() for value in values if value}
        if self.action.applies_to == AppliesTo.SKU:
            return sku in {value for value in values if value}
        return False


@dataclass(frozen=True)
class BoostEffect:
    """What one boost added to one earn or order: points (or stamps), and for an order the
    part of the points on each line (by position; the rest is a per-order bonus)."""

    boost: Boost
    points: int = 0
    stamps: int = 0
    line_points: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignShare:
    """What one campaign added (or took back) in one call, for the API's "campaigns"."""

    campaign_id: int
    name: str
    points: int | None = None
    stamps: int | None = None


def _audience_filter(campaigns: list[tuple[Campaign, Occurrence]], customer_id: int | None) -> list:
    inside: dict[int, bool] = {}
    found = []
    for campaign, occurrence in campaigns:
        if campaign.segment_id is not None:
            if customer_id is None:
                continue
            if campaign.segment_id not in inside:
                inside[campaign.segment_id] = segment_contains(campaign.segment, customer_id)
            if not inside[campaign.segment_id]:
                continue
        found.append((campaign, occurrence))
    return found


def campaigns_for(*, customer_id: int | None, at: datetime) -> list[tuple[Campaign, Occurrence]]:
    """The campaigns on at `at` whose audience holds the customer; without a customer (a
    receipt to claim later), the campaigns for everyone only."""
    on = campaigns_on_at(at)
    if not on:
        return []
    return _audience_filter(on, customer_id)


def boost_actions(campaign: Campaign) -> list[CampaignAction]:
    """A campaign's boost actions (none for a trigger campaign), from its cached actions."""
    if campaign.trigger != Campaign.Trigger.SCHEDULE:
        return []
    return [action for action in campaign.actions.all() if action.kind in CampaignAction.BOOSTS]


def boosts_at(*, customer_id: int | None, at: datetime) -> list[Boost]:
    """The boosts that apply to the customer's earn or order at `at`, by campaign and action."""
    on = campaigns_on_at(at)
    if not on:
        return []
    with_boosts = [(campaign, occurrence) for campaign, occurrence in on if boost_actions(campaign)]
    if not with_boosts:
        return []
    return [
        Boost(campaign=campaign, action=action, occurrence=occurrence)
        for campaign, occurrence in _audience_filter(with_boosts, customer_id)
        for action in boost_actions(campaign)
    ]


def shares_of(effects: Iterable[tuple[Campaign, int, int]]) -> tuple[CampaignShare, ...]:
    """(campaign, points, stamps) summed per campaign, in campaign order; zeros left out."""
    by_campaign: dict[int, list] = {}
    for campaign, points, stamps in effects:
        entry = by_campaign.setdefault(campaign.pk, [campaign, 0, 0])
        entry[1] += points
        entry[2] += stamps
    shares = []
    for campaign_id in sorted(by_campaign):
        campaign, points, stamps = by_campaign[campaign_id]
        if points or stamps:
            shares.append(
                CampaignShare(
                    campaign_id=campaign_id,
                    name=campaign.name,
                    points=points if points else None,
                    stamps=stamps if stamps else None,
                )
            )
    return tuple(shares)


def effect_shares(effects: Sequence[BoostEffect]) -> tuple[CampaignShare, ...]:
    return shares_of((effect.boost.campaign, effect.points, effect.stamps) for effect in effects)


def boosts_record(
    *,
    effects: Sequence[BoostEffect],
    customer_id: int | None,
    external_id: str,
    order_id: int | None = None,
    ledger_entry_id: int | None = None,
) -> list[CampaignBoost]:
    """One CampaignBoost row per boost that added something, in the caller's transaction,
    with the campaign's run of the occurrence when the runner has made one."""
    effects = [effect for effect in effects if effect.points or effect.stamps]
    if not effects:
        return []
    wanted = Q()
    for effect in effects:
        wanted |= Q(campaign_id=effect.boost.campaign.pk, key=effect.boost.occurrence.key)
    runs = {
        (campaign_id, key): pk
        for pk, campaign_id, key in CampaignRun.objects.filter(wanted).values_list("pk", "campaign_id", "key")
    }
    return CampaignBoost.objects.bulk_create(
        CampaignBoost(
            campaign_id=effect.boost.campaign.pk,
            action_id=effect.boost.action.pk,
            run_id=runs.get((effect.boost.campaign.pk, effect.boost.occurrence.key)),
            customer_id=customer_id,
            external_id=external_id,
            order_id=order_id,
            ledger_entry_id=ledger_entry_id,
            points=effect.points,
            stamps=effect.stamps,
            line_points={str(position): points for position, points in effect.line_points.items() if points},
        )
        for effect in effects
    )


def _share_back(points: int, quantity: Decimal, returned: Decimal) -> int:
    """orders.services._points_back's arithmetic for one campaign's part of a line."""
    if returned >= quantity:
        return points
    return int((Decimal(points) * returned / quantity).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class LineReturn:
    position: int
    quantity: Decimal  # the line's quantity
    returned_before: Decimal
    returned_after: Decimal


def boosts_return(
    *, order_id: int, lines: Sequence[LineReturn], everything_back: bool
) -> tuple[CampaignShare, ...]:
    """Record on the order's boosts what a return takes back from each: for each returned line
    the same share of the campaign's part of it as of the line; the per-order bonus once the
    whole order is back. The caller holds the order's row lock."""
    boosts = list(CampaignBoost.objects.filter(order_id=order_id).select_related("campaign").order_by("pk"))
    if not boosts:
        return ()
    changed, taken = [], []
    for boost in boosts:
        back = 0
        for line in lines:
            part = boost.line_points.get(str(line.position), 0)
            if part:
                back += _share_back(part, line.quantity, line.returned_after) - _share_back(
                    part, line.quantity, line.returned_before
                )
        if everything_back:
            back += boost.points - sum(boost.line_points.values())
        back = min(back, boost.points - boost.points_returned)
        if back:
            boost.points_returned += back
            changed.append(boost)
            taken.append((boost.campaign, back, 0))
    CampaignBoost.objects.bulk_update(changed, ["points_returned"])
    return shares_of(taken)


def boosts_reverse(*, ledger_entry_id: int) -> tuple[CampaignShare, ...]:
    """Record that a reversal took back, in full, what boosts added to an earn's entry (the
    reversal's own unrecovered points are reported for the call as a whole)."""
    boosts = list(
        CampaignBoost.objects.filter(ledger_entry_id=ledger_entry_id)
        .select_related("campaign")
        .order_by("pk")
    )
    for boost in boosts:
        boost.points_returned = boost.points
        boost.stamps_returned = boost.stamps
    if boosts:
        CampaignBoost.objects.bulk_update(boosts, ["points_returned", "stamps_returned"])
    return shares_of((boost.campaign, boost.points, boost.stamps) for boost in boosts)


def boosts_claim(*, order_id: int, customer_id: int) -> None:
    """An unclaimed order's boosts belong to whoever claims its receipt."""
    CampaignBoost.objects.filter(order_id=order_id, customer__isnull=True).update(customer_id=customer_id)


def _figure(value: Decimal) -> str:
    return format(value.normalize(), "f")


def boost_text(action: CampaignAction) -> str:
    """A boost in words for a till's display or a customer's page, in the active language,
    e.g. "2x points on coffee". The categories and SKUs are the merchant's, as written."""
    if action.kind == Kind.POINTS_MULTIPLIER:
        values = {"multiplier": _figure(action.multiplier), "items": action.match_values}
        if action.applies_to in PER_LINE:
            return gettext("%(multiplier)sx points on %(items)s") % values
        return gettext("%(multiplier)sx points on everything") % values
    if action.kind == Kind.BONUS_STAMPS:
        return ngettext("+%(stamps)s stamp per visit", "+%(stamps)s stamps per visit", action.stamps) % {
            "stamps": action.stamps
        }
    values = {"points": action.points, "items": action.match_values}
    if action.applies_to in PER_LINE:
        return (
            ngettext(
                "+%(points)s point per unit on %(items)s",
                "+%(points)s points per unit on %(items)s",
                action.points,
            )
            % values
        )
    if action.minimum_spend is not None:
        return ngettext(
            "+%(points)s point per visit (minimum spend %(spend)s)",
            "+%(points)s points per visit (minimum spend %(spend)s)",
            action.points,
        ) % {**values, "spend": _figure(action.minimum_spend)}
    return ngettext("+%(points)s point per visit", "+%(points)s points per visit", action.points) % values


@dataclass(frozen=True)
class CampaignOn:
    """A campaign on its schedule that is on now, for a till's display or a wallet."""

    campaign: Campaign
    occurrence: Occurrence

    @property
    def audience(self) -> str:
        return "everyone" if self.campaign.segment_id is None else "segment"

    @property
    def boosts(self) -> list[CampaignAction]:
        return boost_actions(self.campaign)


def campaigns_on_display(
    *, at: datetime, customer_id: int | None = None, anyone: bool = False
) -> list[CampaignOn]:
    """Campaigns on their schedule that are on at `at`: with `anyone`, whatever their audience
    (a till's display); else those whose audience holds the customer. Trigger campaigns are
    left out: whether they concern a customer depends on the trigger, not on the moment."""
    on = [
        (campaign, occurrence)
        for campaign, occurrence in campaigns_on_at(at)
        if campaign.trigger == Campaign.Trigger.SCHEDULE
    ]
    if not anyone:
        on = _audience_filter(on, customer_id)
    return [CampaignOn(campaign=campaign, occurrence=occurrence) for campaign, occurrence in on]
