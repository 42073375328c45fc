import uuid

from django.db import models


class PinChallenge(models.Model):
    """A one-time PIN the cashier asks the customer for. Only a keyed hash of the PIN is
    stored; the clear PIN lives in Redis for the challenge's lifetime, readable by the
    customer's own session."""

    class Action(models.TextChoices):
        EARN = "earn", "Earn points or stamps"
        REDEEM = "redeem", "Redeem points or stamps"
        COUPON_REDEEM = "coupon_redeem", "Redeem a coupon"
        ADJUST = "adjust", "Balance adjustment"
        PREPAID_PAY = "prepaid_pay", "Pay with prepaid credit"
        REVERSE = "reverse", "Reverse an earn or a redeem"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SPENT = "spent", "Spent"
        FAILED = "failed", "Too many wrong PINs"
        REPLACED = "replaced", "Replaced by a newer challenge"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="pin_challenges"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    pin_hash = models.CharField(max_length=64)
    pin_length = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    remaining_attempts = models.PositiveSmallIntegerField(default=3)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    # SHA-256 of what the customer was told the PIN is for ("Redeem 150 points", in English):
    # the PIN passes only a call that is still that, not the same action for another amount.
    summary_digest = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "action"],
                condition=models.Q(status="open"),
                name="one_open_challenge_per_customer_action",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} for customer {self.customer_id} ({self.status})"
