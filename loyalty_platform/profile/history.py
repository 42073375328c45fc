"""The customer's history in words ("Free muffin", "Order 1043 at Vilnius Old Town",
"Correction: machine broke"), grouped by day in the organization's time zone.

Each ledger entry is told from what caused it: the order, the reward, the coupon, the
campaign or the shop of the key that posted it. Those are looked up once per page, a query
per kind, never per entry."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext, ngettext

from loyalty_platform.campaigns.models import CampaignGrant
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core.formats import money_display, number_display, time_display
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.programs.services import STAMP_CARD_RESET_NOTE
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.shops.models import Shop
from loyalty_platform.stored_value.models import MoneyEntry, PrepaidAccount
from tenants.models import ApiKey

Cause = LedgerEntry.Cause


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    title: str
    change: str  # "+12 points", "-€5.00" (a minus sign, U+2212), in the active language
    delta: int | Decimal
    balance: str  # "1,112 points", "€15.00"
    kind: str  # point, stamp or prepaid
    time: str = ""  # the time of day in the organization's zone (history_days)


@dataclass(frozen=True)
class HistoryDay:
    day: date
    lines: list[HistoryLine]


def _amount(value: int, kind: str) -> str:
    if kind == Program.Kind.STAMP:
        text = ngettext("%(count)s stamp", "%(count)s stamps", abs(value))
    else:
        text = ngettext("%(count)s point", "%(count)s points", abs(value))
    return text % {"count": number_display(abs(value))}


def _signed(text: str, negative: bool) -> str:
    return ("\u2212" if negative else "+") + text


@dataclass
class _Sources:
    """What the page's entries came from, each kind read in one query."""

    orders: dict[str, Order]
    returns: dict[str, OrderReturn]
    receptions: dict[int, RewardReception]
    coupons: dict[int, Coupon]
    grants: dict[int, CampaignGrant]
    shops: dict[int, str]
    key_shops: dict[str, int]

    @classmethod
    def of(cls, entries: list[LedgerEntry]) -> "_Sources":
        ids = [entry.pk for entry in entries]
        external_ids = {entry.external_id for entry in entries if entry.external_id}
        returns = {
            item.external_id: item
            for item in OrderReturn.objects.filter(external_id__in=external_ids).select_related("order")
        }
        order_ids = external_ids | {item.order.external_id for item in returns.values()}
        orders = {order.external_id: order for order in Order.objects.filter(external_id__in=order_ids)}
        lookup_ids = {entry.api_key_lookup_id for entry in entries if entry.api_key_lookup_id}
        key_shops = dict(
            ApiKey.objects.filter(lookup_id__in=lookup_ids, shop_id__isnull=False).values_list(
                "lookup_id", "shop_id"
            )
        )
        shop_ids = {order.shop_id for order in orders.values() if order.shop_id} | set(key_shops.values())
        return cls(
            orders=orders,
            returns=returns,
            receptions={
                item.ledger_entry_id: item
                for item in RewardReception.objects.filter(ledger_entry_id__in=ids).select_related("reward")
            },
            coupons={item.issuing_entry_id: item for item in Coupon.objects.filter(issuing_entry_id__in=ids)},
            grants={
                item.ledger_entry_id: item
                for item in CampaignGrant.objects.filter(ledger_entry_id__in=ids).select_related(
                    "run__campaign"
                )
            },
            shops=dict(Shop.objects.filter(pk__in=shop_ids).values_list("pk", "name")),
            key_shops=key_shops,
        )

    def shop_of(self, entry: LedgerEntry, order: Order | None = None) -> str:
        shop_id = order.shop_id if order is not None and order.shop_id else None
        shop_id = shop_id or self.key_shops.get(entry.api_key_lookup_id)
        return self.shops.get(shop_id, "")


def _at_shop(text: str, shop: str) -> str:
    return gettext("%(what)s at %(shop)s") % {"what": text, "shop": shop} if shop else text


def _order_title(entry: LedgerEntry, order: Order, shop: str) -> str:
    if entry.delta < 0:
        what = gettext("Points paid for order %(order)s") % {"order": order.external_id}
    else:
        what = gettext("Order %(order)s") % {"order": order.external_id}
    return _at_shop(what, shop)


def _title(entry: LedgerEntry, sources: _Sources, titles: dict[int, str]) -> str:
    cause, kind = entry.cause, entry.card.program.kind
    if cause in (Cause.RETURN, Cause.REFUND) and entry.external_id in sources.returns:
        returned = sources.returns[entry.external_id]
        order = {"order": returned.order.external_id}
        if cause == Cause.REFUND:
            return gettext("Points back from returned order %(order)s") % order
        if returned.is_cancellation:
            return gettext("Order %(order)s cancelled") % order
        return gettext("Return of order %(order)s") % order
    if entry.pk in sources.receptions:
        return sources.receptions[entry.pk].reward.name
    order = sources.orders.get(entry.external_id)
    if cause in (Cause.ORDER, Cause.REDEEM) and order is not None:
        return _order_title(entry, order, sources.shop_of(entry, order))
    if cause == Cause.REWARD:
        coupon = sources.coupons.get(entry.pk)
        name = coupon.name if coupon is not None else entry.card.program.name
        return gettext("Full card: %(reward)s") % {"reward": name}
    if cause == Cause.CAMPAIGN:
        grant = sources.grants.get(entry.pk)
        if grant is not None:
            return gettext("Gift: %(campaign)s") % {"campaign": grant.run.campaign.name}
        return gettext("Gift")
    if cause == Cause.EARN:
        what = gettext("Stamps collected") if kind == Program.Kind.STAMP else gettext("Purchase")
        return _at_shop(what, sources.shop_of(entry))
    if cause == Cause.REDEEM:
        what = gettext("Stamps used") if kind == Program.Kind.STAMP else gettext("Points used")
        return _at_shop(what, sources.shop_of(entry))
    if cause == Cause.EXPIRE:
        return gettext("Points expired")
    if cause == Cause.REVERSAL:
        undone = titles.get(entry.reversed_entry_id)
        return gettext("Cancelled: %(what)s") % {"what": undone} if undone else gettext("Cancelled")
    if cause == Cause.ADJUST:
        if entry.note == STAMP_CARD_RESET_NOTE:
            return gettext("Stamp card started again")
        if entry.note:
            return gettext("Correction: %(reason)s") % {"reason": entry.note}
        return gettext("Correction")
    return entry.get_cause_display()


def entry_titles(entries: list[LedgerEntry]) -> dict[int, str]:
    """Each entry's title by its id (entries newest first, their card's program loaded)."""
    sources = _Sources.of(entries)
    titles: dict[int, str] = {}
    # Oldest first, so that a reversal can name what it undid when both are on the page.
    for entry in reversed(entries):
        titles[entry.pk] = _title(entry, sources, titles)
    return titles


def _point_lines(entries: list[LedgerEntry]) -> list[HistoryLine]:
    titles = entry_titles(entries)
    return [
        HistoryLine(
            at=entry.created_at,
            title=titles[entry.pk],
            change=_signed(_amount(entry.delta, entry.card.program.kind), entry.delta < 0),
            delta=entry.delta,
            balance=_amount(entry.balance_after, entry.card.program.kind)
            if entry.balance_after >= 0
            else _signed(_amount(entry.balance_after, entry.card.program.kind), True),
            kind=entry.card.program.kind,
        )
        for entry in entries
    ]


MONEY_TITLES = {
    MoneyEntry.Cause.LOAD: lambda: gettext("Credit topped up"),
    MoneyEntry.Cause.PAY: lambda: gettext("Paid with credit"),
    MoneyEntry.Cause.REVERSAL: lambda: gettext("Credit payment cancelled"),
    MoneyEntry.Cause.ADJUST: lambda: gettext("Credit corrected"),
}


def _money_lines(account: PrepaidAccount, limit: int) -> list[HistoryLine]:
    currency = account.currency
    return [
        HistoryLine(
            at=entry.created_at,
            title=MONEY_TITLES[entry.cause]() if entry.cause in MONEY_TITLES else entry.get_cause_display(),
            change=_signed(money_display(abs(entry.amount), currency), entry.amount < 0),
            delta=entry.amount,
            balance=money_display(entry.balance_after, currency),
            kind="prepaid",
        )
        for entry in account.entries.order_by("-created_at", "-pk")[:limit]
    ]


def history_lines(customer: Customer, limit: int = 50) -> list[HistoryLine]:
    """The customer's newest `limit` changes of points, stamps and prepaid credit, newest first."""
    entries = list(
        LedgerEntry.objects.filter(card__customer=customer)
        .select_related("card__program")
        .order_by("-pk")[:limit]
    )
    lines = _point_lines(entries)
    account = PrepaidAccount.objects.filter(customer=customer).first()
    if account is not None:
        lines += _money_lines(account, limit)
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]


def history_days(lines: Iterable[HistoryLine]) -> list[HistoryDay]:
    """The lines by day in the organization's time zone, newest day first."""
    zone = organization_zone()
    days: list[HistoryDay] = []
    for line in lines:
        local = line.at.astimezone(zone)
        if not days or days[-1].day != local.date():
            days.append(HistoryDay(day=local.date(), lines=[]))
        time = time_display(local.replace(tzinfo=None))
        days[-1].lines.append(replace(line, time=time))
    return days
