import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty_platform.rewards.discounts import Discount


class Reward(Discount):
    """Something in the catalog that customers buy with points."""

    name = models.CharField(
        max_length=120,
        help_text=_('What the customer gets, as tills show it in the catalog, e.g. "Croissant".'),
    )
    description = models.TextField(
        blank=True, help_text=_('More detail the tills show, e.g. "Any croissant from the counter".')
    )
    required_credits = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text=_("Points the reward costs, e.g. 80; the till takes them from the customer's point card."),
    )
    image = models.ImageField(
        upload_to="rewards/",
        blank=True,
        help_text=_("A picture of the reward; the POS API gives tills a link to it with the catalog."),
    )
    is_active = models.BooleanField(
        default=True,
        help_text=_("Untick to take the reward out of the catalog; tills can then no longer hand it out."),
    )
    # Values of the custom attributes defined for rewards (attributes.AttributeDefinition).
    attributes = models.JSONField(default=dict, blank=True)
    allow_pre_redeem = models.BooleanField(
        default=False, help_text="Points may be spent now and the reward collected later."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(Discount.Meta):
        ordering = ["required_credits", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.required_credits} points)"


class RewardReception(models.Model):
    """A customer received (or will collect) a reward, paid with points."""

    class Status(models.TextChoices):
        SPENT = "spent", "Spent (handed over)"
        COLLECTABLE = "collectable", "Collectable"
        COLLECTED = "collected", "Collected"
        REVERSED = "reversed", "Reversed"
        # Not collected within the point program's reward_collect_days: the points came back
        # (rewards.services.reward_reception_expire).
        EXPIRED = "expired", _("Expired (not collected)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="receptions")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="reward_receptions"
    )
    points = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices)
    external_id = models.CharField(max_length=128, blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    # Empty for a reward a campaign gave (0 points, nothing to take back on reversal).
    ledger_entry = models.OneToOneField(
        "programs.LedgerEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reward_reception",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The expiry job's search (rewards.services.reward_receptions_expire).
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(status="collectable"),
                name="reception_collectable_idx",
            ),
            # A customer's rewards waiting to be handed over, oldest first (the wallet).
            models.Index(
                fields=["customer", "created_at"],
                condition=models.Q(status="collectable"),
                name="reception_customer_waiting_idx",
            ),
        ]
        constraints = [
            # A reward taken in the profile, once per form (rewards.services.reward_take).
            models.UniqueConstraint(
                fields=["customer", "external_id"],
                condition=models.Q(external_id__startswith="profile-"),
                name="reception_profile_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reward.name} for {self.customer_id} ({self.status})"
