"""Stored value: money the merchant owes its customers, on giftcards and prepaid accounts.
Every change of a balance is one MoneyEntry with the balance after it."""

import uuid

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class GiftcardBatch(models.Model):
    """Printed cards generated together, exported as CSV or a sheet of QR codes."""

    name = models.CharField(
        max_length=120,
        help_text=_('A name to find the batch by, e.g. "Christmas 2026"; it heads the printable QR sheet.'),
    )
    face_value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text="The value every card of the batch starts with, in the organization's currency; "
        "0: printed empty and loaded at the sale.",
    )
    currency = models.CharField(max_length=3, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Last day the batch's cards can be used.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "giftcard batches"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(face_value__gte=0), name="giftcard_batch_face_value_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Giftcard(models.Model):
    class Kind(models.TextChoices):
        PRINTED = "printed", "Printed"
        DIGITAL = "digital", "Digital"

    class Status(models.TextChoices):
        INACTIVE = "inactive", "Inactive (never loaded)"
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"

    code = models.CharField(max_length=16, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.INACTIVE,
        help_text=_(
            "Inactive: printed, never loaded; its first load at the till makes it Active. Blocked: the "
            "till refuses to load it or pay with it, e.g. when it was lost."
        ),
    )
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=0, editable=False)
    currency = models.CharField(max_length=3)
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("From this moment the till refuses to load the card or pay with it; empty: never."),
    )
    batch = models.ForeignKey(
        GiftcardBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="giftcards"
    )
    recipient_email = models.EmailField(blank=True)
    recipient_name = models.CharField(max_length=150, blank=True)
    sender_name = models.CharField(max_length=150, blank=True)
    message = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="giftcard_balance_not_negative")
        ]
        indexes = [
            # The giftcards sent to a customer's email (recipient_email__iexact: UPPER = UPPER).
            models.Index(Upper("recipient_email"), name="giftcard_recipient_idx")
        ]

    def __str__(self) -> str:
        return self.code


class PrepaidAccount(models.Model):
    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="prepaid_account"
    )
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=0, editable=False)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="prepaid_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"prepaid of {self.customer}"


class MoneyEntry(models.Model):
    """Append-only ledger of stored value; exactly one of giftcard / prepaid_account is set.
    A reversal points at the entry it reverses; the one-to-one makes a second one impossible."""

    class Cause(models.TextChoices):
        LOAD = "load", "Load / top-up"
        PAY = "pay", "Payment"
        REVERSAL = "reversal", "Reversal"
        ADJUST = "adjust", "Staff adjustment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    giftcard = models.ForeignKey(
        Giftcard, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    prepaid_account = models.ForeignKey(
        PrepaidAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(max_digits=12, decimal_places=2)
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
        ordering = ["-created_at"]
        verbose_name_plural = "money entries"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(giftcard__isnull=False, prepaid_account__isnull=True)
                    | models.Q(giftcard__isnull=True, prepaid_account__isnull=False)
                ),
                name="money_entry_one_account",
            ),
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="money_entry_balance_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["giftcard", "created_at"], name="money_giftcard_idx"),
            models.Index(fields=["prepaid_account", "created_at"], name="money_prepaid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.cause} {self.amount} → {self.balance_after}"
