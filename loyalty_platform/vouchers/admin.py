import csv
import io

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from loyalty_platform.attributes.forms import AttributeFieldsAdminMixin, AttributeValuesForm
from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.audit.admin_actions import ReasonActionForm, audited_action
from loyalty_platform.audit.services import audit_record
from loyalty_platform.core.admin_sites import (
    MerchantModelAdmin,
    ReadOnlyAdmin,
    merchant_admin_site,
    permission_required,
)
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.portal_forms import PortalFormMixin
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.services import (
    PROMOTION_FIELDS,
    promotion_create,
    promotion_update,
    voucher_void,
    vouchers_generate,
    vouchers_import,
)

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class PromotionForm(AttributeValuesForm):
    attribute_entity = AttributeDefinition.Entity.PROMOTION

    class Meta:
        model = Promotion
        # The attributes have fields of their own (AttributeValuesForm).
        fields = [name for name in PROMOTION_FIELDS if name != "attributes"]


class GenerateForm(PortalFormMixin, forms.Form):
    count = forms.IntegerField(min_value=1, max_value=100_000)
    pool = forms.CharField(
        max_length=120,
        required=False,
        help_text='A name for this batch of codes (e.g. "Flyer May 2026"), to tell batches apart in '
        "the voucher list and the export.",
    )


class ImportForm(PortalFormMixin, forms.Form):
    file = forms.FileField(help_text="CSV with one code per line (the first column is read).")
    pool = forms.CharField(
        max_length=120,
        help_text="A name for the imported codes (e.g. the partner or the file they came from), to tell "
        "batches apart in the voucher list and the export.",
    )


@admin.register(Promotion, site=merchant_admin_site)
class PromotionAdmin(AttributeFieldsAdminMixin, MerchantModelAdmin):
    form = PromotionForm
    list_display = [
        "title",
        "discount_type",
        "discount_value",
        "valid_from",
        "valid_until",
        "uses_per_voucher",
        "is_active",
        "voucher_count",
        "codes",
    ]
    list_filter = ["is_active"]
    search_fields = ["title"]

    def save_model(self, request, obj, form, change) -> None:
        # The services check the form's values again and write the audit record.
        values = {name: getattr(obj, name) for name in PROMOTION_FIELDS}
        if change:
            promotion_update(promotion=obj, actor=request.user, **values)
            return
        created = promotion_create(actor=request.user, **values)
        # The admin goes on with `obj` (its log entry, the redirect): make it the new promotion.
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
        obj._state.adding = False

    @admin.display(description="Vouchers")
    def voucher_count(self, promotion: Promotion) -> int:
        return promotion.vouchers.count()

    @admin.display(description="Codes")
    def codes(self, promotion: Promotion):
        def url(name):
            return reverse(f"merchant_admin:vouchers_promotion_{name}", args=[promotion.pk])

        return format_html(
            '<a href="{}">Generate</a> · <a href="{}">Import CSV</a> · <a href="{}">Export CSV</a>',
            url("generate"),
            url("import"),
            url("export"),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:promotion_id>/generate/", view(self.generate), name="vouchers_promotion_generate"),
            path("<int:promotion_id>/import/", view(self.import_codes), name="vouchers_promotion_import"),
            path("<int:promotion_id>/export.csv", view(self.export), name="vouchers_promotion_export"),
            *super().get_urls(),
        ]

    def _form_page(self, request, promotion, form, title):
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": title,
            "opts": Promotion._meta,
            "promotion": promotion,
        }
        return render(request, "admin/vouchers/form.html", context)

    @permission_required("vouchers.add_voucher")
    def generate(self, request, promotion_id: int):
        promotion = get_object_or_404(Promotion, pk=promotion_id)
        form = GenerateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            created = vouchers_generate(
                promotion=promotion, count=form.cleaned_data["count"], pool=form.cleaned_data["pool"]
            )
            audit_record(
                actor=request.user,
                action="vouchers_generate",
                target=promotion,
                details={"count": len(created), "pool": form.cleaned_data["pool"]},
            )
            messages.success(request, f"Generated {len(created)} voucher code(s).")
            return redirect("merchant_admin:vouchers_promotion_change", promotion.pk)
        return self._form_page(request, promotion, form, f"Generate codes for {promotion}")

    @permission_required("vouchers.add_voucher")
    def import_codes(self, request, promotion_id: int):
        promotion = get_object_or_404(Promotion, pk=promotion_id)
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_IMPORT_BYTES:
                form.add_error("file", "The file is larger than 5 MB.")
            else:
                try:
                    text = upload.read().decode("utf-8-sig")
                    codes = [
                        row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()
                    ]
                    if codes and codes[0].lower() == "code":
                        codes = codes[1:]
                    count = vouchers_import(promotion=promotion, codes=codes, pool=form.cleaned_data["pool"])
                    audit_record(
                        actor=request.user,
                        action="vouchers_import",
                        target=promotion,
                        details={"count": count, "pool": form.cleaned_data["pool"]},
                    )
                except UnicodeDecodeError:
                    form.add_error("file", "The file is not UTF-8 text.")
                except DomainError as error:
                    form.add_error(
                        "file", f"{error.code.replace('_', ' ')}: {error.extra.get('voucher_code', '')}"
                    )
                else:
                    messages.success(request, f"Imported {count} voucher code(s).")
                    return redirect("merchant_admin:vouchers_promotion_change", promotion.pk)
        return self._form_page(request, promotion, form, f"Import codes for {promotion}")

    @permission_required("vouchers.change_voucher")
    def export(self, request, promotion_id: int):
        """Codes for a POS that validates offline."""
        promotion = get_object_or_404(Promotion, pk=promotion_id)
        audit_record(actor=request.user, action="vouchers_export", target=promotion, details={})
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="vouchers-{promotion.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(["code", "status", "uses", "uses_per_voucher", "valid_from", "valid_until", "pool"])
        for voucher in promotion.vouchers.order_by("pk"):
            writer.writerow(
                [
                    voucher.code,
                    voucher.status,
                    voucher.uses,
                    promotion.uses_per_voucher,
                    promotion.valid_from.isoformat() if promotion.valid_from else "",
                    promotion.valid_until.isoformat() if promotion.valid_until else "",
                    voucher.pool,
                ]
            )
        return response


@admin.register(Voucher, site=merchant_admin_site)
class VoucherAdmin(MerchantModelAdmin):
    list_display = ["code", "promotion", "customer", "status", "uses", "pool", "created_at"]
    list_filter = ["status", "promotion"]
    search_fields = ["code", "customer__email"]
    readonly_fields = [
        "code",
        "promotion",
        "customer",
        "status",
        "uses",
        "pool",
        "locked_until",
        "created_at",
    ]
    exclude = ["release_key_hash"]
    actions = ["void"]
    action_form = ReasonActionForm

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Void the selected active or expired vouchers", permissions=["change"])
    def void(self, request, queryset):
        audited_action(
            request, queryset, voucher_void, keyword="voucher", done="Voided %(count)d voucher(s)."
        )


@admin.register(VoucherRedemption, site=merchant_admin_site)
class VoucherRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "voucher", "customer", "external_id", "reversed_at"]
