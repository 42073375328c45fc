from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Program(models.Model):
    """A point or stamp program. The POS API addresses the organization's active program of
    each kind through `card_type`, so at most one of each kind is active."""

    class Kind(models.TextChoices):
        POINT = "point", "Points"
        STAMP = "stamp", "Stamps"

    class Rounding(models.TextChoices):
        DOWN = "down", "Down"
        NEAREST = "nearest", "Nearest (half up)"
        UP = "up", "Up"

    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        help_text=_(
            "Points: customers earn points per amount spent and spend them on redemptions and rewards. "
            "Stamps: the till adds stamps and a full card gives the customer a coupon for the reward."
        ),
    )
    name = models.CharField(
        max_length=120,
        help_text=_(
            'The name customers see on their card, e.g. "Coffee card"; a full stamp card\'s coupon '
            "takes it when Reward name is empty."
        ),
    )
    is_active = models.BooleanField(
        default=True,
        help_text=_(
            "Tills earn and redeem on the active program of each kind; one points and one stamp program "
            "may be active at a time."
        ),
    )

    # Point programs
    earn_points_per_unit = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Points earned per 1.00 of the currency spent.",
    )
    earn_rounding = models.CharField(
        max_length=10,
        choices=Rounding.choices,
        default=Rounding.DOWN,
        help_text=_(
            "How part of a point is rounded when a customer earns: 14.5 points make 14 rounded down, "
            "15 to the nearest, 15 up; 14.2 make 14, 14 and 15."
        ),
    )
    redeem_points_per_unit = models.PositiveIntegerField(
        default=100, help_text="Points that are worth 1.00 of the currency when redeemed."
    )
    min_redeem_points = models.PositiveIntegerField(
        default=0, help_text="Smallest number of points a single redemption may take."
    )
    allow_negative_balance = models.BooleanField(
        default=False,
        help_text=_(
            "On: redeems and staff corrections may take a card below zero (rewards still need the points), "
            "and returns and reversals take back spent points in full. Off: a redeem beyond the balance "
            "is refused and a return takes what is left."
        ),
    )
    excluded_categories = models.CharField(
        max_length=500,
        blank=True,
        default="giftcard, prepaid",
        help_text="Order line categories that never earn points, comma-separated (giftcard and "
        "prepaid sales are money, not purchases).",
    )
    tier_period_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1)],
        help_text="Tiers count the points earned within this many days.",
    )

    # Expiry of points (programs.lots, docs/decisions/0043-point-expiry.md)
    class PointsExpiry(models.TextChoices):
        NEVER = "never", _("Never")
        LIFETIME = "lifetime", _("A fixed time after they were earned")
        INACTIVITY = "inactivity", _("After a time without any transaction")

    points_expiry = models.CharField(
        max_length=10,
        choices=PointsExpiry.choices,
        default=PointsExpiry.NEVER,
        # The expiry fields' db_default: programs written in SQL (benchmarks) get them too.
        db_default=PointsExpiry.NEVER,
        help_text=_(
            "Never: points stay until they are spent. A fixed time: each earn's points expire that many "
            "months after they were earned, the oldest are spent first. Without any transaction: all of "
            "a customer's points expire once that many months pass without an earn, a redemption or "
            "another change to the card."
        ),
    )
    points_expiry_months = models.PositiveSmallIntegerField(
        default=12,
        db_default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Months after which points expire (see Points expire), 1 to 120."),
    )
    expiry_warning_days = models.PositiveSmallIntegerField(
        default=30,
        db_default=30,
        validators=[MaxValueValidator(365)],
        help_text=_(
            "Days before points expire that customers are told by email (if they have not turned it off); "
            "0: no warning."
        ),
    )
    # When the expiry rule last changed (programs.lots.program_expiry_set): lots earned before
    # keep at least EXPIRY_CHANGE_NOTICE_DAYS from then. The expiry job re-dates the open lots
    # once per change (lots_redated_for) before it expires anything.
    points_expiry_since = models.DateTimeField(null=True, blank=True, editable=False)
    lots_redated_for = models.DateTimeField(null=True, blank=True, editable=False)
    reward_collect_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_(
            "Days a customer has to collect a reward bought in advance; after that it expires and the "
            "points come back. Empty: no limit."
        ),
    )

    # Stamp programs
    stamps_per_card = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Stamps that fill a card, e.g. 10: the stamp that fills it issues the reward coupon and the "
            "count starts again. One sale adds at most this many stamps."
        ),
    )
    reward_name = models.CharField(
        max_length=120, blank=True, help_text="Name of the coupon a full stamp card issues."
    )
    coupon_valid_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a coupon from a full card stays valid; empty: forever."
    )

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(is_active=True),
                name="one_active_program_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def excluded_category_set(self) -> frozenset[str]:
        return frozenset(
            part.strip().casefold() for part in self.excluded_categories.split(",") if part.strip()
        )


class Card(models.Model):
    """A customer's membership in a program. `balance` is a cache of the ledger: only
    `programs.services.ledger_post` writes it, together with the entry that explains it."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        EXPIRED = "expired", "Expired"

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="cards")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cards")
    card_number = models.CharField(max_length=20, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    balance = models.BigIntegerField(default=0, editable=False)
    # The newest earn or redeem entry's time (VISIT_CAUSES), kept by ledger_post in the
    # statement that moves the balance: a segment's "last visit" reads it, not the ledger.
    last_visit_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "program"], name="one_card_per_program"),
        ]

    def __str__(self) -> str:
        return self.card_number


class LedgerEntry(models.Model):
    """Append-only: one row per change of a card's balance, with the balance after it."""

    class Cause(models.TextChoices):
        EARN = "earn", "Earn"
        REDEEM = "redeem", "Redeem"
        REFUND = "refund", "Refund"
        EXPIRE = "expire", "Expire"
        ADJUST = "adjust", "Adjustment"
        REVERSAL = "reversal", "Reversal"
        REWARD = "reward", "Reward (full stamp card)"
        ORDER = "order", "Order"
        RETURN = "return", "Return"
        CAMPAIGN = "campaign", "Campaign grant"

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="entries")
    delta = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    cause = models.CharField(max_length=10, choices=Cause.choices)
    external_id = models.CharField(max_length=128, blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    staff_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_entry = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["card", "-id"], name="ledger_card_recent_idx"),
            # A reversal finds the original call's entries by its external_id.
            models.Index(fields=["external_id"], name="ledger_external_id_idx"),
            # Segments (campaigns.segments): a period's entries and a card's recent visits,
            # both read from the index alone.
            models.Index(
                fields=["created_at"],
                include=["card", "cause", "delta", "reversed_entry"],
                name="ledger_period_segments_idx",
            ),
            # A card's entries in a window, summed without reading the table (segments).
            models.Index(
                fields=["card", "created_at"],
                include=["cause", "delta", "reversed_entry"],
                name="ledger_card_segments_idx",
            ),
        ]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.cause} {self.delta:+d} → {self.balance_after}"


class TransactionReversal(models.Model):
    """The undoing of one POS earn or redeem (programs.reversals): at most one per original,
    which the unique `original_entry` guarantees even against concurrent tills."""

    class Kind(models.TextChoices):
        EARN = "earn", "Earn"
        REDEEM = "redeem", "Redeem"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="reversals")
    # The earn's or redeem's first entry; the reward entries of a filled card follow it.
    original_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="transaction_reversal"
    )
    original_external_id = models.CharField(max_length=128)
    external_id = models.CharField(max_length=128)
    reason = models.CharField(max_length=255, blank=True)
    # Points or stamps (the card's kind) that were due back but already spent.
    unrecovered = models.BigIntegerField(default=0)
    coupons_voided = models.PositiveIntegerField(default=0)
    coupon_already_used = models.BooleanField(default=False)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"reversal of {self.kind} {self.original_external_id}"


class PointLot(models.Model):
    """The points one positive entry of a point card added (an earn, an order, a grant, a
    positive adjustment, a refund beyond what it can put back) and what is left of them.
    Only ledger_post changes `remaining` (programs.lots), under the card's lock, so the lots'
    remaining points always sum to the card's balance (to 0 while the balance is negative).
    Spending takes from the lots that expire first; the expiry job expires what is left of a
    lot whose `expires_at` passed (empty: never)."""

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    expired = models.BigIntegerField(default=0)
    earned_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the customer was told this lot expires soon (programs.warnings), for its current date.
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # A card's open lots in the order spending takes them.
            models.Index(
                "card",
                models.F("expires_at").asc(nulls_last=True),
                "id",
                condition=models.Q(remaining__gt=0),
                name="lot_card_open_idx",
            ),
            # The expiry job's and the warnings' scan: open lots by date.
            models.Index(fields=["expires_at"], condition=models.Q(remaining__gt=0), name="lot_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0, expired__gte=0, points__gt=0),
                name="lot_points_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("points")), name="lot_remaining_at_most_points"
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.points}"


class PointLotDraw(models.Model):
    """The points a negative entry (a redeem, a return, a negative adjustment) took from one
    lot. Reversing or refunding that entry puts them back into the same lots (`restored`)."""

    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="draws")
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="lot_draws")
    points = models.BigIntegerField()
    restored = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points__gt=0, restored__gte=0, restored__lte=models.F("points")),
                name="lot_draw_restored_at_most_drawn",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points} from lot {self.lot_id} by entry {self.entry_id}"
