from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from loyalty_platform.rewards.discounts import Discount, discount_errors, organization_currency
from loyalty_platform.vouchers.rules import promotion_errors


class Promotion(Discount):
    title = models.CharField(
        max_length=120,
        help_text=_(
            'The offer as tills show it when they check a voucher, e.g. "A free cookie with any coffee".'
        ),
    )
    description = models.TextField(
        blank=True, help_text=_('More detail the tills show, e.g. "On the whole basket".')
    )
    # Values of the custom attributes defined for promotions (discount rules for the POS).
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "Values of the promotion attributes (see Attributes) that the POS API returns with each "
            'voucher, e.g. {"mypos_discount_type": "percentage"}.'
        ),
    )
    valid_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Tills refuse the promotion's vouchers before this moment; empty: valid at once."),
    )
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text=_("Tills refuse its vouchers from this moment on; empty: no end.")
    )
    minimum_spend = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Smallest basket, in the currency, a voucher may be used on, e.g. 15.00; the till must then "
            "send the basket's amount. Empty: no minimum."
        ),
    )
    uses_per_voucher = models.PositiveIntegerField(default=1, help_text="How often one voucher can be used.")
    uses_per_customer = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    is_active = models.BooleanField(
        default=True,
        db_default=True,
        help_text=_(
            "Untick to withdraw the promotion: tills refuse its vouchers as ended and campaigns stop "
            "giving them; the vouchers and their history stay. Tick again to bring it back."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta(Discount.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # The discount's rules and the promotion's own, reported together (vouchers.rules);
        # the services check the same.
        models.Model.clean(self)
        currency = organization_currency()
        errors: dict[str, list[str]] = {}
        for problems in (
            discount_errors(
                discount_type=self.discount_type,
                value=self.discount_value,
                product_code=self.product_code,
                category=self.category,
                currency=currency,
            ),
            promotion_errors(
                title=self.title,
                description=self.description,
                product_code=self.product_code,
                category=self.category,
                valid_from=self.valid_from,
                valid_until=self.valid_until,
                minimum_spend=self.minimum_spend,
                uses_per_voucher=self.uses_per_voucher,
                uses_per_customer=self.uses_per_customer,
                currency=currency,
            ),
        ):
            for name, message in problems.items():
                errors.setdefault(name, []).append(message)
        if errors:
            raise ValidationError(errors)


class Voucher(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REDEEMED = "redeemed", "Used up"
        # Its promotion ended (vouchers.services.vouchers_age marks it; back to active if the
        # promotion's end is moved later). Tills refuse it by the promotion's date either way.
        EXPIRED = "expired", _("Expired")
        VOID = "void", "Void"

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="vouchers")
    code = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    uses = models.PositiveIntegerField(default=0)
    pool = models.CharField(max_length=120, blank=True, help_text="Batch or import the code came from.")
    release_key_hash = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # A campaign takes a promotion's free vouchers oldest first (campaigns.grants): the
            # assigned ones, most of a big pool by the end, are not in this index at all.
            models.Index(
                fields=["promotion", "id"],
                condition=models.Q(customer__isnull=True, status="active", uses=0),
                name="voucher_free_in_pool_idx",
            ),
            # The ageing job (vouchers.services.vouchers_age): a promotion's vouchers that may
            # expire or come back, and the locks that may have run out.
            models.Index(
                fields=["promotion", "status"],
                # Two comparisons, not IN: PostgreSQL prints an IN over varchar in a form that,
                # parsed again by the template schema's copy, prints differently.
                condition=models.Q(status="active") | models.Q(status="expired"),
                name="voucher_ageing_idx",
            ),
            models.Index(
                fields=["locked_until"],
                condition=models.Q(locked_until__isnull=False),
                name="voucher_locked_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class VoucherRedemption(models.Model):
    """One use of a voucher; reversing it frees the use again."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_id = models.CharField(max_length=128, blank=True)
    api_key_lookup_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"use of {self.voucher.code}"
