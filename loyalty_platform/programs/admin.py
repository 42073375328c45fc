from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_platform.core.admin_sites import MerchantModelAdmin, ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.core.money import currency_exponent, money_text
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.programs.selectors import (
    EXPIRING_SOON_DAYS,
    LIABILITY_MONTHS,
    program_expiry_liability,
    program_points_expiring_soon,
)
from loyalty_platform.programs.services import EXPIRY_RULE_FIELDS, program_expiry_rule_changed
from tenants.branding import safe_brand_color, text_color_on

Kind = Program.Kind

EXPIRY_FIELDS = ("points_expiry", "points_expiry_months", "expiry_warning_days", "reward_collect_days")
# The rule that dates the lots (programs.lots.lot_expires_at); its months mean nothing under "never".
# What static/js/kind_fields.js shows for each choice of Points expire.
EXPIRY_KIND_FIELDS = [
    {
        "select": "points_expiry",
        "fields": {
            Program.PointsExpiry.NEVER: [],
            Program.PointsExpiry.LIFETIME: ["points_expiry_months", "expiry_warning_days"],
            Program.PointsExpiry.INACTIVITY: ["points_expiry_months", "expiry_warning_days"],
        },
        "managed": ["points_expiry_months", "expiry_warning_days"],
    }
]


def expiry_rule(values) -> tuple[str, int | None]:
    """The expiry rule that `values` (a form's initial data, or a program) set."""
    read = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    rule = read("points_expiry")
    return rule, None if rule == Program.PointsExpiry.NEVER else read("points_expiry_months")


# Each kind's form shows only its own fields.
KIND_FIELDSETS = {
    Kind.POINT: (
        gettext_lazy("Points"),
        {
            "fields": (
                "earn_points_per_unit",
                "earn_rounding",
                "redeem_points_per_unit",
                "min_redeem_points",
                "allow_negative_balance",
                "excluded_categories",
                "tier_period_days",
                *EXPIRY_FIELDS,
            )
        },
    ),
    Kind.STAMP: (gettext_lazy("Stamps"), {"fields": ("stamps_per_card", "reward_name", "coupon_valid_days")}),
}
KIND_HELP = {
    Kind.POINT: gettext_lazy("customers earn points per amount spent and spend them on rewards."),
    Kind.STAMP: gettext_lazy("customers collect a stamp per visit; a full card gives a coupon."),
}


class ProgramForm(forms.ModelForm):
    kind: str = ""  # the kind of a new program, set by the admin's get_form

    class Meta:
        model = Program
        fields = [
            "kind",
            "name",
            "is_active",
            *KIND_FIELDSETS[Kind.POINT][1]["fields"],
            *KIND_FIELDSETS[Kind.STAMP][1]["fields"],
        ]
        help_texts = {
            "is_active": gettext_lazy("The POS API uses the one active program of each kind."),
            "earn_rounding": gettext_lazy("How a fraction of a point earned is rounded."),
            "allow_negative_balance": gettext_lazy("Let a reversal or correction take a balance below zero."),
            "stamps_per_card": gettext_lazy("Stamps that fill a card and issue its coupon."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and self.kind:
            self.instance.kind = self.kind

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_active", self.instance.is_active):
            other = Program.objects.filter(kind=self.instance.kind, is_active=True).exclude(
                pk=self.instance.pk
            )
            active = other.first()
            if active is not None:
                self.add_error(
                    "is_active",
                    _(
                        "“%(name)s” is the active %(kind)s program; deactivate it first, "
                        "or save this one inactive."
                    )
                    % {"name": active.name, "kind": active.get_kind_display().lower()},
                )
        return cleaned


@admin.register(Program, site=merchant_admin_site)
class ProgramAdmin(MerchantModelAdmin):
    form = ProgramForm
    # The form's live preview of the customer's card (static/js/program_preview.js).
    change_form_template = "admin/programs/program_change_form.html"
    list_display = ["name", "kind", "is_active", "earn_points_per_unit", "stamps_per_card", "reward_name"]
    list_filter = ["kind", "is_active"]

    def _kind(self, request, obj) -> str | None:
        if obj is not None:
            return obj.kind
        kind = request.GET.get("kind")
        return kind if kind in Kind.values else None

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if self._kind(request, None) is None:
            context = {
                **self.admin_site.each_context(request),
                "opts": Program._meta,
                "title": _("Add a program"),
                "kinds": [(kind, label, KIND_HELP[kind]) for kind, label in Kind.choices],
            }
            return render(request, "admin/programs/choose_kind.html", context)
        return super().add_view(request, form_url, extra_context)

    def get_fieldsets(self, request, obj=None):
        kind = self._kind(request, obj)
        first = ("kind", "name", "is_active") if obj is not None else ("name", "is_active")
        return ((None, {"fields": first}), KIND_FIELDSETS[kind]) if kind else ((None, {"fields": first}),)

    def get_readonly_fields(self, request, obj=None):
        return ["kind"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"kind": self._kind(request, obj) or ""})

    def save_model(self, request, obj, form, change) -> None:
        previous = {name: form.initial.get(name) for name in EXPIRY_RULE_FIELDS}
        super().save_model(request, obj, form, change)
        if change and obj.kind == Kind.POINT and expiry_rule(previous) != expiry_rule(obj):
            # The service dates the open lots again and audits the change.
            program_expiry_rule_changed(program=obj, staff_user=request.user, previous=previous)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        kind = self._kind(request, obj)
        organization = request.organization
        if kind == Kind.POINT:
            context["kind_fields"] = EXPIRY_KIND_FIELDS
        if obj is not None and kind == Kind.POINT:
            context["expiry_liability"] = expiry_liability_context(obj, organization.currency)
        if kind:
            brand = safe_brand_color(organization.brand_color)
            context["card_preview"] = {
                "kind": kind,
                "organization": organization.name,
                "brand": brand,
                "ink": text_color_on(brand),
                "currency": organization.currency,
                "decimals": currency_exponent(organization.currency),
                "samplePoints": 120,
                "sampleStamps": 3,
                "strings": {
                    "untitled": _("Your program"),
                    "reward": _("a reward"),
                    "stamps": _("%(count)s of %(total)s stamps; a full card gives %(reward)s"),
                    "points": _("%(points)s points, worth %(worth)s %(currency)s"),
                    "earn": _("Earn %(points)s points per 1 %(currency)s spent."),
                },
            }
        return super().render_change_form(request, context, add, change, form_url, obj)


def expiry_liability_context(program: Program, currency: str) -> dict:
    """The program page's table: open points by the month they expire in, with their worth."""
    liability = program_expiry_liability(program)

    per_unit = program.redeem_points_per_unit

    def row(points: int) -> dict:
        worth = Decimal(points) / per_unit if per_unit else Decimal(0)
        return {"points": points, "worth": money_text(worth, currency)}

    return {
        "months": [{"month": month, **row(points)} for month, points in liability.months],
        "later": row(liability.later) if liability.later else None,
        "never": row(liability.never),
        "dated": row(liability.dated),
        "total": row(liability.total),
        "months_ahead": LIABILITY_MONTHS,
        "soon": program_points_expiring_soon(program),
        "soon_days": EXPIRING_SOON_DAYS,
        "currency": currency,
        # Saved a new rule that the expiry job has not applied to the open lots yet.
        "redating": program.points_expiry_since != program.lots_redated_for,
    }


@admin.register(LedgerEntry, site=merchant_admin_site)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """The ledger is append-only: staff read it here; balances change only through services."""

    list_display = ["created_at", "card", "customer", "cause", "delta", "balance_after", "external_id"]
    list_filter = ["cause", "card__program"]
    search_fields = [
        "card__card_number",
        "card__customer__email",
        "=card__customer__customer_code",
        "external_id",
    ]
    list_select_related = ["card__customer"]

    @admin.display(description="Customer")
    def customer(self, entry: LedgerEntry) -> str:
        return str(entry.card.customer)
