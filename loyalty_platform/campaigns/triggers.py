"""Trigger campaigns: what a running birthday, welcome, win-back, milestone or referral
campaign hands out, and to whom. Every grant goes through grants.grant_actions, whose claim
rows (unique per run, action and customer) make a repeated or concurrent call harmless.

Runs (CampaignRun.key) of trigger campaigns, one per period of the trigger:
- welcome: one run "welcome" (a customer enrolls once);
- birthday: "birthday-<year>", the year of the birthday celebrated (once a year);
- win-back: "win-back-<yyyy-mm>", a run per local calendar month; a customer granted by the
  campaign before is picked again only after a visit since that grant (came back, lapsed again);
- milestone: one run "milestone" (once per customer per campaign);
- referral: a run per referral, "ref-<referral id>", with both customers granted (a referrer is
  rewarded once for each friend, a friend once)."""

import logging
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from loyalty_platform.campaigns.grants import grant_actions
from loyalty_platform.campaigns.messages import message_customers
from loyalty_platform.campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignGrant,
    CampaignMessage,
    CampaignRun,
    Referral,
)
from loyalty_platform.campaigns.runner import audience
from loyalty_platform.campaigns.schedule import Occurrence
from loyalty_platform.campaigns.selectors import campaigns_on_at, organization_zone
from loyalty_platform.customers.models import Customer
from loyalty_platform.orders.models import Order
from loyalty_platform.programs.models import Card, LedgerEntry, Program

logger = logging.getLogger(__name__)

WELCOME_RUN = "welcome"
MILESTONE_RUN = "milestone"
_CHUNK = 500
# A win-back scan reads every customer's last visit: once a day per campaign is enough.
_WIN_BACK_SCANNED_SECONDS = 26 * 3600
# Ledger causes and order rows that count as a visit (a purchase), and as points earned.
_EARNED_CAUSES = (LedgerEntry.Cause.EARN, LedgerEntry.Cause.ORDER)


def trigger_campaigns_on(trigger: str, at: datetime | None = None) -> list[tuple[Campaign, Occurrence]]:
    """Running campaigns of this trigger inside their window at `at` (cached, no query)."""
    return [pair for pair in campaigns_on_at(at or timezone.now()) if pair[0].trigger == trigger]


# --- Granting ------------------------------------------------------------------------------


def _run(campaign: Campaign, key: str, starts_at: datetime, ends_at: datetime | None) -> CampaignRun:
    run = CampaignRun.objects.filter(campaign=campaign, key=key).first()
    if run is not None:
        return run
    try:
        with transaction.atomic():
            return CampaignRun.objects.create(
                campaign=campaign,
                key=key,
                starts_at=starts_at,
                ends_at=ends_at,
                status=CampaignRun.Status.OPEN,
            )
    except IntegrityError:  # another worker opened it at this moment
        return CampaignRun.objects.get(campaign=campaign, key=key)


def campaign_hand_out(*, campaign: Campaign, run: CampaignRun, customer_ids: list[int]) -> int:
    """Give each customer in the campaign's audience what the campaign grants, and queue its
    message, once per run; returns how many grants were made now."""
    if not customer_ids:
        return 0
    granted = 0
    for start in range(0, len(customer_ids), _CHUNK):
        chunk = customer_ids[start : start + _CHUNK]
        eligible = sorted(audience(campaign).filter(pk__in=chunk).values_list("pk", flat=True))
        if not eligible:
            continue
        actions = list(campaign.actions.all())
        granted += grant_actions(run=run, actions=actions, customer_ids=eligible)
        # After the grants: the email names the voucher a grant gave.
        for action in actions:
            if action.kind == CampaignAction.Kind.MESSAGE:
                message_customers(run=run, action=action, customer_ids=eligible)
    return granted


# --- Welcome -------------------------------------------------------------------------------


def trigger_welcome(*, customer_id: int) -> int:
    """A customer enrolled: each welcome campaign on now grants them its actions, once."""
    granted = 0
    for campaign, occurrence in trigger_campaigns_on(Campaign.Trigger.WELCOME):
        run = _run(campaign, WELCOME_RUN, occurrence.starts_at, occurrence.ends_at)
        granted += campaign_hand_out(campaign=campaign, run=run, customer_ids=[customer_id])
    return granted


# --- Birthday ------------------------------------------------------------------------------


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_customers(day: date) -> QuerySet[Customer]:
    """Customers whose birthday falls on `day`; those born on 29 February celebrate on the 28th
    in years without one."""
    condition = Q(birth_date__month=day.month, birth_date__day=day.day)
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        condition |= Q(birth_date__month=2, birth_date__day=29)
    return Customer.objects.filter(condition)


def trigger_birthdays(*, now: datetime | None = None) -> int:
    """Customers whose birthday is the campaign's trigger_days (0: today) from today, in the
    organization's time zone; each once a year (run "birthday-<year of the birthday>")."""
    now = now or timezone.now()
    zone = organization_zone()
    today = now.astimezone(zone).date()
    granted = 0
    for campaign, _ in trigger_campaigns_on(Campaign.Trigger.BIRTHDAY, now):
        birthday = today + timedelta(days=campaign.trigger_days or 0)
        run = _run(
            campaign,
            f"birthday-{birthday.year}",
            datetime.combine(date(birthday.year, 1, 1), time(0), zone),
            datetime.combine(date(birthday.year + 1, 1, 1), time(0), zone),
        )
        ids = list(
            birthday_customers(birthday)
            .exclude(Exists(CampaignGrant.objects.filter(run=run, customer_id=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        granted += campaign_hand_out(campaign=campaign, run=run, customer_ids=ids)
    return granted


# --- Win-back ------------------------------------------------------------------------------


def with_last_visit(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """`last_visit`: the latest order, earn or redeem (as segments' last-visit rule counts
    visits); never visited: the enrollment."""
    last_order = (
        Order.objects.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(at=Max("created_at"))
        .values("at")
    )
    # Each card keeps its newest earn or redeem (Card.last_visit_at, set by ledger_post).
    last_card_visit = (
        Card.objects.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(at=Max("last_visit_at"))
        .values("at")
    )
    # PostgreSQL's GREATEST skips NULLs: no order or no card visit leaves the other and created_at.
    return customers.annotate(
        last_visit=Greatest(Subquery(last_order), Subquery(last_card_visit), F("created_at"))
    )


def win_back_customers(campaign: Campaign, now: datetime) -> QuerySet[Customer]:
    """Customers without a visit for more than trigger_days, who had no grant of this campaign
    since their last visit."""
    since = now - timedelta(days=campaign.trigger_days or 0)
    since_visit = {
        "run__campaign": campaign,
        "customer_id": OuterRef("pk"),
        "created_at__gte": OuterRef("last_visit"),
    }
    return (
        with_last_visit(Customer.objects.filter(status=Customer.Status.ACTIVE))
        .filter(last_visit__lt=since)
        .exclude(Exists(CampaignGrant.objects.filter(**since_visit)))
        .exclude(Exists(CampaignMessage.objects.filter(**since_visit)))
    )


def _month_run(campaign: Campaign, today: date, zone) -> CampaignRun:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return _run(
        campaign,
        f"win-back-{first:%Y-%m}",
        datetime.combine(first, time(0), zone),
        datetime.combine(following, time(0), zone),
    )


def trigger_win_back(*, now: datetime | None = None, force: bool = False) -> int:
    """Lapsed customers, each once per month at most (see the module's docstring); a campaign
    is scanned once a day (`force` scans again)."""
    now = now or timezone.now()
    zone = organization_zone()
    today = now.astimezone(zone).date()
    granted = 0
    for campaign, _ in trigger_campaigns_on(Campaign.Trigger.WIN_BACK, now):
        # The cache's key function adds the schema.
        scanned_key = f"campaigns:win-back-scanned:{campaign.pk}:{today.isoformat()}"
        if not force and cache.get(scanned_key):
            continue
        run = _month_run(campaign, today, zone)
        ids = list(win_back_customers(campaign, now).order_by("pk").values_list("pk", flat=True))
        granted += campaign_hand_out(campaign=campaign, run=run, customer_ids=ids)
        cache.set(scanned_key, 1, _WIN_BACK_SCANNED_SECONDS)
    return granted


def triggers_daily(*, now: datetime | None = None) -> int:
    """The hourly calendar look: birthdays, then win-backs. Returns the grants made."""
    return trigger_birthdays(now=now) + trigger_win_back(now=now)


# --- After a purchase: milestones and referrals ---------------------------------------------


def _purchase_at(customer_id: int, external_id: str) -> datetime | None:
    order_at = (
        Order.objects.filter(customer_id=customer_id, external_id=external_id)
        .values_list("created_at", flat=True)
        .first()
    )
    if order_at is not None:
        return order_at
    return LedgerEntry.objects.filter(
        card__customer_id=customer_id, external_id=external_id, cause=LedgerEntry.Cause.EARN
    ).aggregate(at=Min("created_at"))["at"]


def visit_number(customer_id: int, at: datetime) -> int:
    """How many visits the customer made up to `at`: orders, and earns (one per external id,
    an earn on a point and a stamp card being one visit)."""
    orders = Order.objects.filter(customer_id=customer_id, created_at__lte=at).count()
    earns = LedgerEntry.objects.filter(
        card__customer_id=customer_id, cause=LedgerEntry.Cause.EARN, created_at__lte=at
    ).aggregate(n=Count("external_id", distinct=True))["n"]
    return orders + earns


def _milestone_reached(campaign: Campaign, customer_id: int, external_id: str, at: datetime) -> bool:
    if campaign.milestone_visits and visit_number(customer_id, at) == campaign.milestone_visits:
        return True
    if campaign.milestone_points:
        earned = LedgerEntry.objects.filter(
            card__customer_id=customer_id,
            card__program__kind=Program.Kind.POINT,
            cause__in=_EARNED_CAUSES,
        )
        total = earned.filter(created_at__lte=at).aggregate(n=Sum("delta"))["n"] or 0
        this = earned.filter(external_id=external_id).aggregate(n=Sum("delta"))["n"] or 0
        # This purchase took the total across N: earlier purchases had not.
        if total - this < campaign.milestone_points <= total:
            return True
    return False


def trigger_milestones(*, customer_id: int, external_id: str) -> int:
    campaigns = trigger_campaigns_on(Campaign.Trigger.MILESTONE)
    if not campaigns:
        return 0
    at = _purchase_at(customer_id, external_id)
    if at is None:
        return 0
    granted = 0
    for campaign, occurrence in campaigns:
        if _milestone_reached(campaign, customer_id, external_id, at):
            run = _run(campaign, MILESTONE_RUN, occurrence.starts_at, occurrence.ends_at)
            granted += campaign_hand_out(campaign=campaign, run=run, customer_ids=[customer_id])
    return granted


def referral_run_key(referral: Referral) -> str:
    return f"ref-{referral.pk.hex}"


def trigger_referral(*, customer_id: int) -> int:
    """The friend's first purchase while a referral campaign is on rewards the referral once:
    it moves to rewarded with a conditional update in the transaction of the grants, so a
    second purchase, or two at once, find it rewarded already."""
    campaigns = trigger_campaigns_on(Campaign.Trigger.REFERRAL)
    if not campaigns:
        return 0
    referral = Referral.objects.filter(friend_id=customer_id, status=Referral.Status.ENROLLED).first()
    if referral is None:
        return 0
    granted = 0
    with transaction.atomic():
        rewarded = Referral.objects.filter(pk=referral.pk, status=Referral.Status.ENROLLED).update(
            status=Referral.Status.REWARDED, rewarded_at=timezone.now()
        )
        if not rewarded:
            return 0
        for campaign, occurrence in campaigns:
            run = _run(campaign, referral_run_key(referral), occurrence.starts_at, occurrence.ends_at)
            granted += campaign_hand_out(
                campaign=campaign, run=run, customer_ids=sorted([referral.referrer_id, referral.friend_id])
            )
    logger.info("referral %s rewarded, %s grants", referral.pk, granted)
    return granted


def trigger_purchase(*, customer_id: int, external_id: str) -> int:
    return trigger_milestones(customer_id=customer_id, external_id=external_id) + trigger_referral(
        customer_id=customer_id
    )
