import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_platform.audit.admin_actions import ReasonActionForm, audited_action
from loyalty_platform.branding.selectors import contact_email
from loyalty_platform.core import errors
from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site, permission_required
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.formats import day_display, time_display
from loyalty_platform.customers.csv_files import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ROW_ERRORS,
    customers_export_csv,
    customers_import,
    import_preview_drop,
    import_preview_load,
    import_preview_store,
    parse_customers_csv,
)
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import (
    consent_history,
    customer_search_filter,
    customer_timeline_page,
)
from loyalty_platform.customers.services import (
    card_block,
    card_unblock,
    customer_block,
    customer_data_export,
    customer_erase,
    customer_unblock,
    customer_update,
    normalize_birth_date,
    normalize_phone,
    phone_change_check,
)
from loyalty_platform.programs.models import Card
from loyalty_platform.programs.selectors import active_programs, card_balances
from loyalty_platform.programs.services import card_adjust, card_adjust_check
from loyalty_platform.stored_value.money_left import money_left_explanation, money_left_lines
from loyalty_platform.verification.admin_forms import PinStepFields, staff_pin_step
from tenants.limits import plan_limit_message

# The permissions of the customer pages beyond Django's model ones (the roles map them).
EXPORT_PERMISSION = "accounts.export_customers"
IMPORT_PERMISSION = "accounts.import_customers"
ERASE_PERMISSION = "customers.delete_customer"
TIMELINE_LIMIT = 50
PREVIEW_ROWS_SHOWN = 200
ERASE_WORD = "ERASE"

ADJUST_ERRORS = {
    "stamps_exceed_card": "This would fill the stamp card; stamps that fill a card are earned at the till.",
    "insufficient_balance": "The balance cannot go below zero.",
    "balance_limit_exceeded": "That is more than a balance can hold.",
    "program_not_found": "There is no active program of this kind.",
    "pin_already_used": "That PIN was already used; submit again for a new one.",
}


def money_left_message(error: DomainError) -> str:
    """An erase refused while money is left (customer_has_money): how much, and how the
    customer gets it back, as the profile tells them."""
    left = "; ".join(money_left_lines(error.extra["money_left"]))
    how = money_left_explanation(organization=connection.tenant.name, contact_email=contact_email())
    return _("Money is left on this account, so it was not erased: %(left)s.") % {"left": left} + " " + how


# What staff read when a block, an erase or an import is refused; the code is shown beside it.
PAGE_ERRORS = {
    "already_blocked": gettext_lazy("It is blocked already; nothing changed."),
    "not_blocked": gettext_lazy("It is not blocked; nothing changed."),
    "customer_erased": gettext_lazy("This customer's data was erased; nothing can change any more."),
    "reason_required": gettext_lazy("Give a reason; it is kept in the audit log."),
    "import_file_too_large": gettext_lazy("The file is larger than the import accepts."),
    "import_not_utf8": gettext_lazy("The file is not UTF-8 text. Save it as “CSV UTF-8”."),
    "import_malformed": gettext_lazy("The file is not readable as CSV."),
    "import_empty": gettext_lazy("The file has no header or no rows."),
    "import_too_many_rows": gettext_lazy("The file has more rows than one import takes."),
    "import_unknown_columns": gettext_lazy("The header names columns the import does not know."),
    "import_email_column_required": gettext_lazy("The header has no email column."),
    "import_token_invalid": gettext_lazy(
        "This preview expired or was made by someone else. Upload the file again."
    ),
    "form_invalid": gettext_lazy("Correct the form below."),
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


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "phone", "birth_date"]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean_birth_date(self):
        try:
            return normalize_birth_date(self.cleaned_data.get("birth_date"))
        except DomainError:
            raise forms.ValidationError(
                _("A birth date is in the past, and at most 130 years ago."), code="birth_date_invalid"
            ) from None

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone:
            try:
                phone = normalize_phone(phone)
            except DomainError:
                raise forms.ValidationError(
                    _("Not a phone number; write it as +31612345678."), code="phone_invalid"
                ) from None
        try:
            phone_change_check(customer=self.instance, phone=phone)
        except DomainError as error:
            raise forms.ValidationError(error.error.message, code=error.code) from None
        return phone


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=255, help_text=gettext_lazy("Kept in the audit log.")
    )


class EraseForm(ReasonForm):
    confirm = forms.CharField(
        label=gettext_lazy("Type ERASE to confirm"),
        max_length=10,
        help_text=gettext_lazy("This cannot be undone."),
    )

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"].strip() != ERASE_WORD:
            raise forms.ValidationError(_("Type ERASE in capitals."), code="confirm_invalid")
        return ERASE_WORD


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, with a header row: email (required), name, phone, consent_marketing (yes/no). "
            "At most %(rows)s rows and %(megabytes)s MB."
        )
        % {"rows": f"{MAX_IMPORT_ROWS:,}", "megabytes": MAX_IMPORT_BYTES // (1024 * 1024)},
    )
    consents_confirmed = forms.BooleanField(
        label=gettext_lazy("These customers accepted the program's terms and privacy notice"),
        help_text=gettext_lazy("New customers are enrolled with these consents, as at the till."),
    )


class ConfirmImportForm(forms.Form):
    token = forms.CharField(max_length=64)


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


@admin.register(Customer, site=merchant_admin_site)
class CustomerAdmin(MerchantModelAdmin):
    form = CustomerForm
    list_display = ["customer_code", "email", "name", "phone", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["email"]  # shows the box; get_search_results decides what a term finds
    search_help_text = gettext_lazy("Customer code, email, name, phone or card number.")
    # Not "3 results (1,000,000 total)": that total is a COUNT over every customer per search.
    show_full_result_count = False
    readonly_fields = [
        "customer_code",
        "email",
        "status",
        "consent_terms_at",
        "consent_privacy_at",
        "consent_marketing_at",
        "consent_sms_at",
        "consent_history",
        "created_at",
        "updated_at",
        "adjust_link",
    ]
    fields = [
        "customer_code",
        "email",
        "name",
        "phone",
        "birth_date",
        "status",
        "consent_terms_at",
        "consent_privacy_at",
        "consent_marketing_at",
        "consent_sms_at",
        "consent_history",
        "created_at",
        "updated_at",
        "adjust_link",
    ]

    actions = ["block_selected", "unblock_selected"]
    action_form = ReasonActionForm

    @admin.action(description=gettext_lazy("Block the selected customers"), permissions=["change"])
    def block_selected(self, request, queryset):
        audited_action(
            request, queryset, customer_block, keyword="customer", done=_("Blocked %(count)d customer(s).")
        )

    @admin.action(description=gettext_lazy("Unblock the selected customers"), permissions=["change"])
    def unblock_selected(self, request, queryset):
        audited_action(
            request,
            queryset,
            customer_unblock,
            keyword="customer",
            done=_("Unblocked %(count)d customer(s)."),
        )

    def get_ordering(self, request):
        if request.GET.get(SEARCH_VAR, "").strip():
            # Newest first, as without a term, but not by walking the primary key's index
            # until a page of matches turned up (all of it, for a term few customers match):
            # the matches come from their indexes, then are sorted.
            return [(F("pk") + 0).desc()]
        return super().get_ordering(request)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(customer_search_filter(search_term)), False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:customer_id>/adjust/", view(self.adjust), name="customers_customer_adjust"),
            path("<int:customer_id>/block/", view(self.block), name="customers_customer_block"),
            path("<int:customer_id>/unblock/", view(self.unblock), name="customers_customer_unblock"),
            path(
                "<int:customer_id>/cards/<int:card_id>/block/",
                view(self.block_card),
                name="customers_customer_card_block",
            ),
            path(
                "<int:customer_id>/cards/<int:card_id>/unblock/",
                view(self.unblock_card),
                name="customers_customer_card_unblock",
            ),
            path("<int:customer_id>/timeline/", view(self.timeline), name="customers_customer_timeline"),
            path("<int:customer_id>/data/", view(self.data_export), name="customers_customer_data"),
            path("<int:customer_id>/erase/", view(self.erase), name="customers_customer_erase"),
            path("import/", view(self.import_upload), name="customers_customer_import"),
            path("import/confirm/", view(self.import_confirm), name="customers_customer_import_confirm"),
            path("export.csv", view(self.export_csv), name="customers_customer_export"),
            *super().get_urls(),
        ]

    # --- The customer page ----------------------------------------------------------------------

    @admin.display(description="Balances")
    @admin.display(description=gettext_lazy("Marketing consent history"))
    def consent_history(self, customer: Customer):
        lines = consent_history(customer, limit=50)
        if not lines:
            return _("None yet.")
        return format_html_join(
            mark_safe("<br>"),
            "{} {}: {} ({})",
            ((day_display(line.at), time_display(line.at), line.title, line.source) for line in lines),
        )

    def adjust_link(self, customer: Customer):
        url = reverse("merchant_admin:customers_customer_adjust", args=[customer.pk])
        return format_html('<a href="{}">Adjust points or stamps</a>', url)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status == Customer.Status.DELETED:
            return False  # erased: nothing about them changes any more
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        customer_update(
            customer=obj,
            actor=request.user,
            name=form.cleaned_data["name"],
            phone=form.cleaned_data["phone"],
            birth_date=form.cleaned_data.get("birth_date"),
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import": request.user.has_perm(IMPORT_PERMISSION),
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        if customer is not None and self.has_view_or_change_permission(request, customer):
            items, more = customer_timeline_page(customer, limit=TIMELINE_LIMIT)
            extra_context = {
                **(extra_context or {}),
                **self._page_actions(request, customer),
                "cards": Card.objects.filter(customer=customer).select_related("program").order_by("pk"),
                "timeline": items,
                "timeline_more_url": self._older_url(customer, items) if more else "",
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _page_actions(self, request, customer: Customer) -> dict:
        can_change = customer.status != Customer.Status.DELETED and request.user.has_perm(
            "customers.change_customer"
        )
        return {
            "can_block": can_change and customer.status == Customer.Status.ACTIVE,
            "can_unblock": can_change and customer.status == Customer.Status.BLOCKED,
            "can_block_cards": can_change,
            "can_export_data": request.user.has_perms([EXPORT_PERMISSION, "customers.change_customer"]),
            "can_erase": customer.status != Customer.Status.DELETED
            and request.user.has_perm(ERASE_PERMISSION),
        }

    def _older_url(self, customer: Customer, items) -> str:
        url = reverse("merchant_admin:customers_customer_timeline", args=[customer.pk])
        return f"{url}?{urlencode({'before': items[-1].at.isoformat()})}"

    def timeline(self, request, customer_id: int):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=customer_id)
        before = None
        if request.GET.get("before"):
            try:
                before = parse_datetime(request.GET["before"][:40])
            except ValueError:  # well formed but no such moment, e.g. month 13
                before = None
            if before is None or timezone.is_naive(before):
                return JsonResponse({"error": "before_invalid"}, status=400)
        items, more = customer_timeline_page(customer, limit=TIMELINE_LIMIT, before=before)
        context = {
            **self.admin_site.each_context(request),
            "opts": Customer._meta,
            "customer": customer,
            "timeline": items,
            "timeline_more_url": self._older_url(customer, items) if more else "",
            "title": _("History of %(customer)s") % {"customer": customer},
        }
        return render(request, "admin/customers/timeline.html", context)

    def _customer(self, request, customer_id: int, permission: str) -> Customer:
        _require(request, permission)
        return get_object_or_404(Customer, pk=customer_id)

    def _page(self, request, template: str, context: dict, status: int = 200):
        return render(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": Customer._meta, **context},
            status=status,
        )

    def _error(self, code: str) -> dict:
        return {"error_code": code, "error_message": PAGE_ERRORS.get(code, code.replace("_", " "))}

    def _reason_page(
        self, request, *, customer: Customer, service, target, keyword: str, title: str, done: str
    ):
        """A confirmation page with a reason, then the audited service; refusals answer with
        their status and code and change nothing."""
        form = ReasonForm(request.POST or None)
        status, context = 200, {}
        if request.method == "POST":
            if form.is_valid():
                try:
                    service(**{keyword: target}, actor=request.user, reason=form.cleaned_data["reason"])
                except DomainError as error:
                    status, context = error.status, self._error(error.code)
                else:
                    messages.success(request, done)
                    return redirect("merchant_admin:customers_customer_change", customer.pk)
            else:
                status, context = 422, self._error("reason_required")
        context.update({"form": form, "customer": customer, "title": title, "button": title})
        return self._page(request, "admin/customers/confirm.html", context, status)

    def block(self, request, customer_id: int):
        customer = self._customer(request, customer_id, "customers.change_customer")
        return self._reason_page(
            request,
            customer=customer,
            service=customer_block,
            target=customer,
            keyword="customer",
            title=_("Block %(customer)s") % {"customer": customer},
            done=_("Blocked: the tills refuse this customer until unblocked."),
        )

    def unblock(self, request, customer_id: int):
        customer = self._customer(request, customer_id, "customers.change_customer")
        return self._reason_page(
            request,
            customer=customer,
            service=customer_unblock,
            target=customer,
            keyword="customer",
            title=_("Unblock %(customer)s") % {"customer": customer},
            done=_("Unblocked."),
        )

    def _card(self, request, customer_id: int, card_id: int) -> tuple[Customer, Card]:
        customer = self._customer(request, customer_id, "customers.change_customer")
        return customer, get_object_or_404(Card, pk=card_id, customer=customer)

    def block_card(self, request, customer_id: int, card_id: int):
        customer, card = self._card(request, customer_id, card_id)
        return self._reason_page(
            request,
            customer=customer,
            service=card_block,
            target=card,
            keyword="card",
            title=_("Block card %(card)s") % {"card": card},
            done=_("Card blocked: the tills refuse it until unblocked."),
        )

    def unblock_card(self, request, customer_id: int, card_id: int):
        customer, card = self._card(request, customer_id, card_id)
        return self._reason_page(
            request,
            customer=customer,
            service=card_unblock,
            target=card,
            keyword="card",
            title=_("Unblock card %(card)s") % {"card": card},
            done=_("Card unblocked."),
        )

    def data_export(self, request, customer_id: int):
        """The customer's own data, on their request: the page explains, the POST downloads.
        It holds giftcard and voucher codes and money entries, so it asks for the right to
        change customers as well as to export them (marketing exports lists, not this)."""
        _require(request, "customers.change_customer")
        customer = self._customer(request, customer_id, EXPORT_PERMISSION)
        if request.method != "POST":
            return self._page(
                request,
                "admin/customers/confirm.html",
                {
                    "customer": customer,
                    "title": _("Download the data of %(customer)s") % {"customer": customer},
                    "text": _(
                        "A JSON file with everything the platform holds on this customer: profile, "
                        "consents, cards and ledgers, coupons, vouchers, orders, rewards, prepaid and "
                        "giftcard entries, PIN requests. The download is kept in the audit log."
                    ),
                    "button": _("Download"),
                },
            )
        data = customer_data_export(customer=customer, actor=request.user)
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
        filename = f"customer-{customer.customer_code}-{timezone.now():%Y%m%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def erase(self, request, customer_id: int):
        customer = self._customer(request, customer_id, ERASE_PERMISSION)
        form = EraseForm(request.POST or None)
        status, context = 200, {}
        if customer.status == Customer.Status.DELETED:
            status, context = 409, self._error("customer_erased")
        elif request.method == "POST":
            if form.is_valid():
                try:
                    customer_erase(customer=customer, actor=request.user, reason=form.cleaned_data["reason"])
                except DomainError as error:
                    status, context = error.status, self._error(error.code)
                    if error.error is errors.CUSTOMER_HAS_MONEY:
                        context["error_message"] = money_left_message(error)
                else:
                    messages.success(request, _("The customer's personal data is erased."))
                    return redirect("merchant_admin:customers_customer_change", customer.pk)
            else:
                status, context = 422, self._error("form_invalid")
        context.update(
            {
                "form": form if customer.status != Customer.Status.DELETED else None,
                "customer": customer,
                "title": _("Erase the data of %(customer)s") % {"customer": customer},
                "text": _(
                    "Name, email, phone and marketing consent are erased for good and the customer "
                    "can no longer use the program: the tills no longer find them, open coupons and "
                    "vouchers are voided. Ledger entries, orders and balances stay, anonymized, for "
                    "the books. This cannot be undone."
                ),
                "button": _("Erase for good"),
            }
        )
        return self._page(request, "admin/customers/confirm.html", context, status)

    @permission_required("programs.add_ledgerentry")
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

    # --- Import and export of the list ----------------------------------------------------------

    def import_upload(self, request):
        _require(request, IMPORT_PERMISSION)
        form = ImportForm(request.POST or None, request.FILES or None)
        status, context = 200, {}
        if request.method == "POST":
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    if upload.size > MAX_IMPORT_BYTES:
                        raise errors.IMPORT_FILE_TOO_LARGE()
                    rows = parse_customers_csv(upload.read())
                except DomainError as error:
                    status, context = error.status, {**self._error(error.code), "error_extra": error.extra}
                else:
                    report = customers_import(rows, actor=request.user, apply=False)
                    token = import_preview_store(rows, user=request.user)
                    return self._page(
                        request,
                        "admin/customers/import_preview.html",
                        {
                            "title": _("Check the import"),
                            "report": report,
                            "counts": report.counts(),
                            "token": token,
                            "shown": PREVIEW_ROWS_SHOWN,
                            "row_errors": ROW_ERRORS,
                        },
                    )
            else:
                status, context = 422, self._error("form_invalid")
        context.update({"form": form, "title": _("Import customers")})
        return self._page(request, "admin/customers/import.html", context, status)

    def import_confirm(self, request):
        _require(request, IMPORT_PERMISSION)
        if request.method != "POST":
            return redirect("merchant_admin:customers_customer_import")
        form = ConfirmImportForm(request.POST)
        try:
            if not form.is_valid():
                raise errors.IMPORT_TOKEN_INVALID()
            token = form.cleaned_data["token"]
            rows = import_preview_load(token, user=request.user)
            report = customers_import(rows, actor=request.user, apply=True)
        except DomainError as error:
            context = {"form": ImportForm(), "title": _("Import customers"), **self._error(error.code)}
            if error.error is errors.PLAN_LIMIT_REACHED:  # the whole import is refused
                context["error_message"] = plan_limit_message(error)
            return self._page(request, "admin/customers/import.html", context, error.status)
        import_preview_drop(token)
        counts = report.counts()
        messages.success(
            request,
            _("Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged, %(errors)d left out.")
            % counts,
        )
        return redirect("merchant_admin:customers_customer_changelist")

    def export_csv(self, request):
        _require(request, EXPORT_PERMISSION)
        response = StreamingHttpResponse(
            customers_export_csv(actor=request.user), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="customers-{timezone.now():%Y%m%d}.csv"'
        return response

    def has_add_permission(self, request) -> bool:
        # Customers enroll themselves, at the POS, or by import, giving their consents.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # erasing (the erase page) keeps the books; a row is never deleted
