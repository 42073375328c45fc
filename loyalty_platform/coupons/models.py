import uuid

from django.db import models


class Coupon(models.Model):
    """A coupon for a program's reward, issued when a stamp card fills."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REDEEMED = "redeemed", "Redeemed"
        EXPIRED = "expired", "Expired"
        VOID = "void", "Void"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="coupons")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="coupons")
    name = models.CharField(max_length=120)
    qr_token = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_external_id = models.CharField(max_length=128, blank=True)
    redeemed_api_key_lookup_id = models.CharField(max_length=16, blank=True)
    # Held for one integration's checkout (the Shop API's /coupons/pending) until then:
    # coupon_redeem refuses other callers; `held_by` is the hash of the holder's key.
    held_until = models.DateTimeField(null=True, blank=True)
    held_by = models.CharField(max_length=64, blank=True, default="", db_default="")
    issuing_entry = models.ForeignKey(
        "programs.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            # The expiry job's search (coupons.services.coupons_expire): only coupons that can
            # still expire are in it.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="active", expires_at__isnull=False),
                name="coupon_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
