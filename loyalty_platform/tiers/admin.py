from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from loyalty_platform.core.admin_sites import MerchantModelAdmin, ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.tiers.models import CustomerTier, Tier


class TierForm(forms.ModelForm):
    """Tiers are a ladder: names and thresholds are unique, and a higher tier never earns a
    smaller multiplier than a lower one (every error is shown at once)."""

    class Meta:
        model = Tier
        fields = ["name", "threshold_points", "points_multiplier", "description"]

    def clean(self):
        cleaned = super().clean()
        others = Tier.objects.exclude(pk=self.instance.pk)
        name = (cleaned.get("name") or "").strip()
        if name and others.filter(name__iexact=name).exists():
            self.add_error("name", _("Another tier is called “%(name)s”.") % {"name": name})
        threshold, multiplier = cleaned.get("threshold_points"), cleaned.get("points_multiplier")
        if threshold is not None and others.filter(threshold_points=threshold).exists():
            self.add_error(
                "threshold_points",
                _("Another tier starts at %(points)s points; give each tier its own threshold.")
                % {"points": threshold},
            )
        elif threshold is not None and multiplier is not None:
            lower = others.filter(threshold_points__lt=threshold, points_multiplier__gt=multiplier).last()
            higher = others.filter(threshold_points__gt=threshold, points_multiplier__lt=multiplier).first()
            for tier in (lower, higher):
                if tier is not None:
                    self.add_error(
                        "points_multiplier",
                        _(
                            "“%(name)s” (from %(points)s points) has a multiplier of %(multiplier)s: "
                            "a higher tier cannot earn less than a lower one."
                        )
                        % {
                            "name": tier.name,
                            "points": tier.threshold_points,
                            "multiplier": tier.points_multiplier,
                        },
                    )
        if name:
            cleaned["name"] = name
        return cleaned


@admin.register(Tier, site=merchant_admin_site)
class TierAdmin(MerchantModelAdmin):
    form = TierForm
    list_display = ["name", "threshold_points", "points_multiplier", "description"]


@admin.register(CustomerTier, site=merchant_admin_site)
class CustomerTierAdmin(ReadOnlyAdmin):
    list_display = ["customer", "tier", "qualifying_points", "recalculated_at"]
    list_filter = ["tier"]
    search_fields = ["customer__email", "customer__customer_code"]
