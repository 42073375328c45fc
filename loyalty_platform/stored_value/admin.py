import csv
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import TabularInline

from loyalty_platform.audit.admin_actions import ReasonActionForm, audited_action
from loyalty_platform.audit.services import audit_record
from loyalty_platform.core.admin_sites import (
    MerchantModelAdmin,
    ReadOnlyAdmin,
    merchant_admin_site,
    permission_required,
)
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.money import currency_exponent, exact_decimal, money_amount, money_text
from loyalty_platform.core.qr import qr_svg
from loyalty_platform.stored_value.models import Giftcard, GiftcardBatch, MoneyEntry, PrepaidAccount
from loyalty_platform.stored_value.services import (
    MAX_BATCH,
    giftcard_batch_generate,
    giftcard_block,
    giftcard_unblock,
    money_adjust,
    money_adjust_check,
)
from loyalty_platform.verification.admin_forms import PinStepFields, staff_pin_step


class GiftcardBatchForm(forms.ModelForm):
    count = forms.IntegerField(min_value=1, max_value=MAX_BATCH, help_text="How many cards to print.")
    currency: str = "EUR"  # the organization's, set by the admin's get_form

    class Meta:
        model = GiftcardBatch
        fields = ["name", "face_value", "expires_on"]
        widgets = {"expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        help_texts = {"expires_on": "Optional: the last day the batch's cards can be used."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["face_value"].required = False  # empty: 0, cards printed empty

    def clean_face_value(self):
        value = self.cleaned_data["face_value"]
        if value is None:
            return Decimal(0)
        places = currency_exponent(self.currency)
        if value < 0 or exact_decimal(value, places=places) is None:
            raise forms.ValidationError(
                f"Give 0 or more {self.currency}, with at most {places} decimals."
                if places
                else f"Give a whole number of {self.currency}, 0 or more."
            )
        return value

    def clean_expires_on(self):
        expires_on = self.cleaned_data["expires_on"]
        if expires_on is not None and expires_on < timezone.localdate():
            raise forms.ValidationError("The expiry date is in the past.")
        return expires_on


@admin.register(GiftcardBatch, site=merchant_admin_site)
class GiftcardBatchAdmin(MerchantModelAdmin):
    list_display = ["name", "face_value", "currency", "expires_on", "created_at", "card_count", "downloads"]
    readonly_fields = ["face_value", "currency", "expires_on", "created_at", "created_by"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = type(
                "GiftcardBatchForm", (GiftcardBatchForm,), {"currency": request.organization.currency}
            )
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "count", "face_value", "expires_on"]
        return ["name", "face_value", "currency", "expires_on", "created_at", "created_by"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Cards")
    def card_count(self, batch: GiftcardBatch) -> int:
        return batch.giftcards.count()

    @admin.display(description="Download")
    def downloads(self, batch: GiftcardBatch):
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">QR sheet</a>',
            reverse("merchant_admin:stored_value_giftcardbatch_csv", args=[batch.pk]),
            reverse("merchant_admin:stored_value_giftcardbatch_sheet", args=[batch.pk]),
        )

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            self.audit_form_save(request, obj, form, change)
            return
        batch = giftcard_batch_generate(
            name=form.cleaned_data["name"],
            count=form.cleaned_data["count"],
            currency=request.organization.currency,
            expires_on=form.cleaned_data.get("expires_on"),
            face_value=form.cleaned_data["face_value"],
            created_by=request.user,
        )
        obj.pk, obj.created_at = batch.pk, batch.created_at  # the admin goes on with `obj`
        obj._state.adding = False
        self.audit_form_save(request, batch, form, change)

    def get_urls(self):
        return [
            path(
                "<int:batch_id>/export.csv",
                self.admin_site.admin_view(self.export_csv),
                name="stored_value_giftcardbatch_csv",
            ),
            path(
                "<int:batch_id>/sheet/",
                self.admin_site.admin_view(self.sheet),
                name="stored_value_giftcardbatch_sheet",
            ),
            *super().get_urls(),
        ]

    @permission_required("stored_value.change_giftcardbatch")
    def export_csv(self, request, batch_id: int):
        batch = get_object_or_404(GiftcardBatch, pk=batch_id)
        audit_record(actor=request.user, action="giftcard_batch_export", target=batch, details={"as": "csv"})
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="giftcards-batch-{batch.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(["code", "status", "balance", "currency", "expires_at"])
        for card in batch.giftcards.order_by("pk"):
            writer.writerow(
                [
                    card.code,
                    card.status,
                    money_text(card.balance, card.currency),
                    card.currency,
                    card.expires_at.isoformat() if card.expires_at else "",
                ]
            )
        return response

    @permission_required("stored_value.change_giftcardbatch")
    def sheet(self, request, batch_id: int):
        batch = get_object_or_404(GiftcardBatch, pk=batch_id)
        audit_record(
            actor=request.user, action="giftcard_batch_export", target=batch, details={"as": "sheet"}
        )
        cards = [(card, qr_svg(card.code)) for card in batch.giftcards.order_by("pk")]
        return render(
            request,
            "admin/stored_value/qr_sheet.html",
            {"batch": batch, "cards": cards, "organization": request.organization},
        )


class AdjustmentForm(PinStepFields):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, help_text="Positive adds, negative takes.")
    reason = forms.CharField(max_length=255, help_text="Why; it is kept in the ledger and the audit log.")


class AdjustableAdminMixin:
    """A staff adjustment page: goes through the ledger service and the audit log."""

    def _url_name(self, suffix: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{suffix}"

    def get_urls(self):
        return [
            path(
                "<int:object_id>/adjust/",
                self.admin_site.admin_view(self.adjust),
                name=self._url_name("adjust"),
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Adjust")
    def adjust_link(self, obj):
        url = reverse(f"merchant_admin:{self._url_name('adjust')}", args=[obj.pk])
        return format_html('<a href="{}">Adjust balance</a>', url)

    @permission_required("stored_value.add_moneyentry")
    def adjust(self, request, object_id: int):
        account = get_object_or_404(self.model, pk=object_id)
        customer = getattr(account, "customer", None)  # prepaid: the customer confirms with a PIN
        form = AdjustmentForm(request.POST or None)
        if customer is None:
            del form.fields["pin"], form.fields["challenge_id"]
        if request.method == "POST" and form.is_valid():
            done = False
            try:
                amount = money_amount(str(form.cleaned_data["amount"]), account.currency)
                # Refusals that need no PIN come before the customer is asked for one.
                money_adjust_check(account=account, amount=amount, reason=form.cleaned_data["reason"])
                passed, challenge = True, None
                if customer is not None:
                    passed, challenge = staff_pin_step(
                        form=form, organization=request.organization, customer=customer
                    )
                if passed:
                    money_adjust(
                        account=account,
                        amount=amount,
                        reason=form.cleaned_data["reason"],
                        staff_user=request.user,
                        pin_challenge_id=challenge,
                    )
                    done = True
            except DomainError as error:
                form.add_error("amount", error.code.replace("_", " "))
            if done:
                messages.success(request, f"Balance adjusted by {amount} {account.currency}.")
                return redirect(f"merchant_admin:{self._url_name('change')}", object_id)
        context = {
            **self.admin_site.each_context(request),
            "account": account,
            "form": form,
            "opts": self.model._meta,
            "title": f"Adjust the balance of {account}",
        }
        return render(request, "admin/stored_value/adjust.html", context)


class MoneyEntryInline(TabularInline):
    model = MoneyEntry
    fk_name = "giftcard"
    extra = 0
    can_delete = False
    fields = ["created_at", "cause", "amount", "balance_after", "external_id", "staff_user", "note"]
    readonly_fields = fields
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PrepaidEntryInline(MoneyEntryInline):
    fk_name = "prepaid_account"


@admin.register(Giftcard, site=merchant_admin_site)
class GiftcardAdmin(AdjustableAdminMixin, MerchantModelAdmin):
    list_display = ["code", "kind", "status", "balance", "currency", "expires_at", "batch", "adjust_link"]
    list_filter = ["kind", "status", "batch"]
    search_fields = ["code", "recipient_email"]
    fields = [
        "code",
        "kind",
        "status",
        "balance",
        "currency",
        "expires_at",
        "batch",
        "recipient_email",
        "recipient_name",
        "sender_name",
        "message",
        "created_at",
    ]
    readonly_fields = [
        "code",
        "kind",
        "balance",
        "currency",
        "batch",
        "recipient_email",
        "recipient_name",
        "sender_name",
        "message",
        "created_at",
    ]
    inlines = [MoneyEntryInline]
    actions = ["block", "unblock"]
    action_form = ReasonActionForm

    def has_add_permission(self, request) -> bool:
        return False  # printed cards come in batches, digital ones are sold at the POS

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Block the selected cards", permissions=["change"])
    def block(self, request, queryset):
        audited_action(
            request, queryset, giftcard_block, keyword="giftcard", done="Blocked %(count)d card(s)."
        )

    @admin.action(description="Unblock the selected cards", permissions=["change"])
    def unblock(self, request, queryset):
        audited_action(
            request, queryset, giftcard_unblock, keyword="giftcard", done="Unblocked %(count)d card(s)."
        )


@admin.register(PrepaidAccount, site=merchant_admin_site)
class PrepaidAccountAdmin(AdjustableAdminMixin, MerchantModelAdmin):
    list_display = ["customer", "balance", "currency", "updated_at", "adjust_link"]
    search_fields = ["customer__email", "=customer__customer_code"]
    readonly_fields = ["customer", "balance", "currency", "created_at", "updated_at"]
    inlines = [PrepaidEntryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MoneyEntry, site=merchant_admin_site)
class MoneyEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "giftcard",
        "prepaid_account",
        "cause",
        "amount",
        "balance_after",
        "external_id",
    ]
    list_filter = ["cause"]
    search_fields = ["giftcard__code", "prepaid_account__customer__email", "external_id"]
