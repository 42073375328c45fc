"""Segments (saved audiences) and campaigns (what happens to them, and when).

A campaign's occurrences are runs: a one-off campaign has one run, a recurring one (every
weekend) one per occurrence, a trigger campaign one per period of its trigger. Every grant and
message is a row unique per run, action and customer, which is what makes a retried or
duplicated task harmless. See docs/decisions/0038-campaigns.md."""

import uuid
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    class Match(models.TextChoices):
        ALL = "all", _("All rules")
        ANY = "any", _("Any rule")

    name = models.CharField(max_length=120, help_text=_('A name for staff, e.g. "Regulars we miss".'))
    description = models.TextField(blank=True)
    match = models.CharField(
        max_length=3,
        choices=Match.choices,
        default=Match.ALL,
        help_text=_("Whether a customer must meet every rule, or one of them is enough."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentRule(models.Model):
    """One condition of a segment. Which value fields count depends on `kind`."""

    class Kind(models.TextChoices):
        TIER = "tier", _("Tier is")
        POINTS_BALANCE = "points_balance", _("Points balance")
        POINTS_EARNED = "points_earned", _("Points earned in the last N days")
        MONEY_SPENT = "money_spent", _("Money spent in the last N days")
        LAST_VISIT = "last_visit", _("Last visit, days ago")
        MEMBER_SINCE = "member_since", _("Member since")
        BIRTHDAY_WITHIN = "birthday_within", _("Birthday in the coming N days")
        SHOP_VISITED = "shop_visited", _("Visited the shop")
        MARKETING_CONSENT = "marketing_consent", _("Has marketing consent")
        REDEEMED_REWARD = "redeemed_reward", _("Has received the reward")
        REDEEMED_VOUCHER = "redeemed_voucher", _("Has used a voucher of the promotion")
        STATIC_LIST = "static_list", _("Is on the imported list")

    class Comparison(models.TextChoices):
        AT_LEAST = "gte", _("at least")
        AT_MOST = "lte", _("at most")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    comparison = models.CharField(max_length=3, choices=Comparison.choices, default=Comparison.AT_LEAST)
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Points or money the rule compares with."),
    )
    days = models.PositiveIntegerField(null=True, blank=True, help_text=_("The N of the rule, in days."))
    date = models.DateField(null=True, blank=True, help_text=_("Member since: the date compared with."))
    negate = models.BooleanField(
        default=False, help_text=_("Turn the rule around: customers who do not meet it.")
    )
    tier = models.ForeignKey("tiers.Tier", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reward = models.ForeignKey(
        "rewards.Reward", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    promotion = models.ForeignKey(
        "vouchers.Promotion", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["segment", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class SegmentListMember(models.Model):
    """A customer on a segment's static list (imported by CSV)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="list_members")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_list_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} on {self.segment_id}"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")
        CANCELLED = "cancelled", _("Cancelled")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("On its schedule")
        BIRTHDAY = "birthday", _("Birthday")
        WELCOME = "welcome", _("Welcome (on enrollment)")
        WIN_BACK = "win_back", _("Win-back (no visit in N days)")
        MILESTONE = "milestone", _("Milestone (Nth visit or N points)")
        REFERRAL = "referral", _("Referral (a friend enrolls and buys)")

    name = models.CharField(max_length=120, help_text=_('A name for staff, e.g. "Double points weekend".'))
    description = models.CharField(
        max_length=255,
        blank=True,
        help_text=_('What tills and customers see, e.g. "Double points all weekend".'),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text=_("Who the campaign is for; empty: every customer."),
    )
    starts_at = models.DateTimeField(help_text=_("When the campaign begins."))
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("When it ends; empty: no end."))
    # Recurrence: the weekdays (0 Monday .. 6 Sunday, comma-separated) and, optionally, the hours
    # of those days, in the organization's time zone. Empty weekdays: one continuous run.
    recurrence_weekdays = models.CharField(
        max_length=20,
        blank=True,
        help_text=_(
            "Days the campaign runs on, 0 Monday to 6 Sunday, e.g. 5,6 for every weekend; empty: every day."
        ),
    )
    daily_start_time = models.TimeField(null=True, blank=True)
    daily_end_time = models.TimeField(null=True, blank=True)
    # Trigger settings.
    trigger_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Birthday: days before it; win-back: days without a visit.")
    )
    milestone_visits = models.PositiveIntegerField(null=True, blank=True)
    milestone_points = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["status", "starts_at"], name="campaign_status_start_idx")]

    def __str__(self) -> str:
        return self.name


class CampaignAction(models.Model):
    """What a campaign does: boosts apply to earns and orders while a run is open; grants are
    handed out when a run starts (or a trigger fires); a message is sent once per run."""

    class Kind(models.TextChoices):
        POINTS_MULTIPLIER = "points_multiplier", _("Multiply points earned")
        BONUS_POINTS = "bonus_points", _("Bonus points per visit or per unit")
        BONUS_STAMPS = "bonus_stamps", _("Bonus stamps per visit")
        GRANT_POINTS = "grant_points", _("Give points")
        GRANT_STAMPS = "grant_stamps", _("Give stamps")
        GRANT_VOUCHER = "grant_voucher", _("Give a voucher of a promotion")
        GRANT_REWARD = "grant_reward", _("Give a reward")
        MESSAGE = "message", _("Send an email")

    BOOSTS = (Kind.POINTS_MULTIPLIER, Kind.BONUS_POINTS, Kind.BONUS_STAMPS)
    GRANTS = (Kind.GRANT_POINTS, Kind.GRANT_STAMPS, Kind.GRANT_VOUCHER, Kind.GRANT_REWARD)

    class AppliesTo(models.TextChoices):
        ALL = "all", _("Every purchase")
        VISIT = "visit", _("Once per visit")
        CATEGORY = "category", _("Lines of a category")
        SKU = "sku", _("Lines of a SKU")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    applies_to = models.CharField(max_length=10, choices=AppliesTo.choices, default=AppliesTo.ALL)
    match_values = models.CharField(
        max_length=1000, blank=True, help_text=_("Categories or SKUs, comma-separated.")
    )
    multiplier = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("1"))]
    )
    points = models.PositiveIntegerField(default=0)
    stamps = models.PositiveIntegerField(default=0)
    minimum_spend = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    promotion = models.ForeignKey(
        "vouchers.Promotion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reward = models.ForeignKey(
        "rewards.Reward", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(
        blank=True,
        help_text=_("The email's text; {name}, {points}, {stamps} and {voucher_code} are filled in."),
    )

    class Meta:
        ordering = ["campaign", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class CampaignRun(models.Model):
    """One occurrence of a campaign: its window and how far its grants and messages got."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        GRANTING = "granting", _("Granting")
        OPEN = "open", _("Open")  # grants done; boosts apply until ends_at
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    # Trigger runs are per period (a birthday year, a win-back month); the key tells them apart.
    key = models.CharField(max_length=40)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Grants go out in chunks by customer id; a resumed task starts after this id.
    grant_cursor = models.BigIntegerField(default=0)
    message_cursor = models.BigIntegerField(default=0)
    # Open runs look for customers who entered the audience since (campaigns.runner._rescan).
    rescans = models.PositiveIntegerField(default=0)
    # The pass (rescans) whose segment audience is in CampaignRunAudience; None: not taken.
    audience_pass = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="campaign_run_key_unique")]
        indexes = [models.Index(fields=["status", "starts_at"], name="campaign_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.key}"


class CampaignRunAudience(models.Model):
    """A segment's customers as a run's pass began, written by one INSERT ... SELECT, so the
    pass's chunks read a list instead of evaluating the segment again each (campaigns.runner).
    A plain id, not a foreign key: the chunks read the customer's status again."""

    run = models.ForeignKey(CampaignRun, on_delete=models.CASCADE, related_name="+")
    customer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "customer_id"], name="campaign_run_audience_unique")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.customer_id}"


class CampaignGrant(models.Model):
    """Something a campaign handed to a customer; at most one per run, action and customer."""

    run = models.ForeignKey(CampaignRun, on_delete=models.PROTECT, related_name="grants")
    action = models.ForeignKey(CampaignAction, on_delete=models.PROTECT, related_name="grants")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    points = models.BigIntegerField(default=0)
    stamps = models.BigIntegerField(default=0)
    ledger_entry = models.ForeignKey(
        "programs.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    voucher = models.ForeignKey(
        "vouchers.Voucher", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reward_reception = models.ForeignKey(
        "rewards.RewardReception", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "action", "customer"], name="campaign_grant_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.action_id} to {self.customer_id}"


class CampaignMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")  # the customer could no longer be emailed

    run = models.ForeignKey(CampaignRun, on_delete=models.PROTECT, related_name="messages")
    action = models.ForeignKey(CampaignAction, on_delete=models.PROTECT, related_name="messages")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "action", "customer"], name="campaign_message_once_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action_id} to {self.email}"


class CampaignBoost(models.Model):
    """What a boost added to one earn or order, and what returns and reversals took back."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="boosts")
    action = models.ForeignKey(CampaignAction, on_delete=models.PROTECT, related_name="boosts")
    run = models.ForeignKey(
        CampaignRun, null=True, blank=True, on_delete=models.PROTECT, related_name="boosts"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_id = models.CharField(max_length=128)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ledger_entry = models.ForeignKey(
        "programs.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    points = models.BigIntegerField(default=0)
    stamps = models.BigIntegerField(default=0)
    points_returned = models.BigIntegerField(default=0)
    stamps_returned = models.BigIntegerField(default=0)
    # An order's boost: its points on each line, by the line's position ("0": 12); the rest of
    # `points` is a per-order bonus. A partial return takes back the returned lines' share.
    line_points = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["external_id"], name="campaign_boost_external_id_idx")]

    def __str__(self) -> str:
        return f"{self.campaign_id} +{self.points}"


class ReferralLink(models.Model):
    """A customer's personal link to share; the code alone names them within the organization."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="referral_link"
    )
    code = models.CharField(max_length=24, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    """A friend who enrolled through a link; rewarded once, at the friend's first purchase."""

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        REWARDED = "rewarded", _("Rewarded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referrer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="referrals_made"
    )
    # A friend can be referred once: a second link is refused, and so is their second purchase.
    friend = models.OneToOneField("customers.Customer", on_delete=models.PROTECT, related_name="referred_by")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ENROLLED)
    created_at = models.DateTimeField(auto_now_add=True)
    rewarded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.friend_id}"


class CampaignUnsubscribe(models.Model):
    """A marketing consent withdrawn through a campaign email's link, for the campaign's report."""

    campaign = models.ForeignKey(Campaign, null=True, on_delete=models.SET_NULL, related_name="unsubscribes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.customer_id} unsubscribed"
