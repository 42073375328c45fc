from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card
from loyalty_platform.programs.selectors import active_programs, card_balances
from loyalty_platform.programs.services import card_adjust, card_adjust_check
from loyalty_platform.verification.admin_forms import PinStepFields, staff_pin_step

ADJUST_ERRORS = {
    "stamps_exceed_card": "This would fill the stamp card; stamps that fill a card are earned at the till.",
    "insufficient_balance": "The balance cannot go below zero.",
    "balance_limit_exceeded": "That is more than a balance can hold.",
    "program_not_found": "There is no active program of this kind.",
    "pin_already_used": "That PIN was already used; submit again for a new one.",
}


class CardAdjustmentForm(PinStepFields):
    card_type = forms.ChoiceField(choices=[("point", "Points"), ("stamp", "Stamps")])
    delta = forms.IntegerField(
        min_value=-(2**31), max_value=2**31, help_text="Positive adds, negative takes. Not zero."
    )
    reason = forms.CharField(max_length=255, help_text="Why; it is kept in the ledger and the audit log.")

    field_order = ["card_type", "delta", "reason", "pin", "challenge_id"]

    def clean_delta(self):
        if self.cleaned_data["delta"] == 0:
            raise forms.ValidationError("Give a change other than zero.")
        return self.cleaned_data["delta"]


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    can_delete = False
    fields = ["card_number", "program", "status", "balance", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer, site=merchant_admin_site)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_code", "email", "name", "phone", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["=customer_code", "email", "name", "phone"]
    readonly_fields = [
        "customer_code",
        "email",
        "consent_terms_at",
        "consent_privacy_at",
        "consent_marketing_at",
        "created_at",
        "updated_at",
    ]
    fields = ["customer_code", "email", "name", "phone", "status", *readonly_fields[2:], "adjust_link"]
    readonly_fields = [*readonly_fields, "adjust_link"]
    inlines = [CardInline]

    def get_urls(self):
        return [
            path(
                "<int:customer_id>/adjust/",
                self.admin_site.admin_view(self.adjust),
                name="customers_customer_adjust",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Balances")
    def adjust_link(self, customer: Customer):
        url = reverse("merchant_admin:customers_customer_adjust", args=[customer.pk])
        return format_html('<a href="{}">Adjust points or stamps</a>', url)

    def adjust(self, request, customer_id: int):
        """A staff correction; under Balanced and Strict the customer confirms it with a PIN."""
        customer = get_object_or_404(Customer, pk=customer_id)
        form = CardAdjustmentForm(request.POST or None)
        form.fields["card_type"].choices = [
            (kind, program.name) for kind, program in sorted(active_programs().items())
        ]
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            change = {"customer": customer, "card_type": data["card_type"], "delta": data["delta"]}
            entry = None
            try:
                # Refusals that need no PIN come before the customer is asked for one.
                card_adjust_check(**change, reason=data["reason"])
                passed, challenge = staff_pin_step(
                    form=form, organization=request.organization, customer=customer
                )
                if passed:
                    entry = card_adjust(
                        **change, reason=data["reason"], staff_user=request.user, pin_challenge_id=challenge
                    )
            except DomainError as error:
                form.add_error("delta", ADJUST_ERRORS.get(error.code, error.code.replace("_", " ")))
            if entry is not None:
                done = f"Adjusted by {entry.delta:+d}; the balance is {entry.balance_after}."
                messages.success(request, done)
                return redirect("merchant_admin:customers_customer_change", customer.pk)
        context = {
            **self.admin_site.each_context(request),
            "customer": customer,
            "balances": card_balances(customer.pk),
            "form": form,
            "opts": Customer._meta,
            "title": f"Adjust the balances of {customer}",
        }
        return render(request, "admin/customers/adjust.html", context)

    def has_add_permission(self, request) -> bool:
        # Customers enroll themselves or at the POS, giving their consents.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
