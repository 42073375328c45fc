"""Segments in the merchant portal: the rules as an inline, and on the segment's page its size
and a sample of its customers (both computed in SQL), the static list and its CSV import."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import StackedInline

from loyalty_platform.campaigns.models import Segment, SegmentListMember, SegmentRule
from loyalty_platform.campaigns.segment_lists import (
    MAX_LIST_BYTES,
    MAX_LIST_ROWS,
    PREVIEW_PURPOSE,
    UNMATCHED_LINES_KEPT,
    Mode,
    parse_segment_list_csv,
    segment_list_import,
)
from loyalty_platform.campaigns.segments import (
    COMPARED_KINDS,
    REQUIRED_FIELDS,
    segment_rule_validate,
    segment_sample,
    segment_size,
)
from loyalty_platform.core import errors
from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.replica import replica_reads
from loyalty_platform.customers.admin import PAGE_ERRORS
from loyalty_platform.customers.csv_files import (
    import_preview_drop,
    import_preview_load,
    import_preview_store,
)

SAMPLE_SIZE = 20
LIST_MEMBERS_SHOWN = 100
LIST_PERMISSION = "campaigns.change_segmentlistmember"
PAGE_MESSAGES = {
    **PAGE_ERRORS,
    "segment_list_column_required": gettext_lazy("The header needs an email or a customer_code column."),
    "segment_list_mode_invalid": gettext_lazy("Choose whether the file replaces the list or adds to it."),
}
# What staff read on the rule's field when it lacks a value its kind needs.
RULE_FIELD_MESSAGES = {
    "tier": gettext_lazy("Choose the tier."),
    "amount": gettext_lazy("Give the number of points or the amount of money."),
    "days": gettext_lazy("Give the number of days (up to 36,500; at least 1, or 0 for birthdays: today)."),
    "date": gettext_lazy("Give the date."),
    "shop": gettext_lazy("Choose the shop."),
    "reward": gettext_lazy("Choose the reward."),
    "promotion": gettext_lazy("Choose the promotion."),
    "comparison": gettext_lazy("Choose at least or at most."),
    "kind": gettext_lazy("Choose what the rule checks."),
}


class SegmentRuleForm(forms.ModelForm):
    class Meta:
        model = SegmentRule
        fields = [
            "kind",
            "comparison",
            "amount",
            "days",
            "date",
            "tier",
            "shop",
            "reward",
            "promotion",
            "negate",
        ]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        help_texts = {
            "kind": gettext_lazy(
                "What the rule checks; each kind uses some of the fields below (days, amount, date, "
                "tier, shop, reward or promotion)."
            ),
            "comparison": gettext_lazy(
                "For balances, points, money and member since: at least or at most the value. Last "
                "visit: at least or at most N days ago."
            ),
            "tier": gettext_lazy("Tier is: the customer's current tier."),
            "shop": gettext_lazy("Visited the shop: an order there or an earn at one of its tills."),
            "reward": gettext_lazy("Has received the reward (receptions undone do not count)."),
            "promotion": gettext_lazy("Has used a voucher of the promotion (uses undone do not count)."),
        }

    def _post_clean(self):
        super()._post_clean()  # copies the cleaned values onto the instance first
        # A rule kind's needed values (segments.segment_rule_validate), shown on that field.
        if not self.errors:
            try:
                segment_rule_validate(self.instance)
            except DomainError as error:
                name = error.extra["field"]
                message = RULE_FIELD_MESSAGES.get(name, RULE_FIELD_MESSAGES["kind"])
                self.add_error(
                    name if name in self.fields else None, forms.ValidationError(message, code=error.code)
                )


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", "match"]
        help_texts = {
            "description": gettext_lazy("For staff: what the segment is for. Customers never see it.")
        }


def segment_rule_fields() -> dict:
    """What static/js/kind_fields.js shows for each rule kind: the values it needs, the
    comparison where it compares, and negate always."""
    managed = ["comparison", "amount", "days", "date", "tier", "shop", "reward", "promotion"]
    fields = {
        kind: [*(["comparison"] if kind in COMPARED_KINDS else []), *needed]
        for kind, needed in REQUIRED_FIELDS.items()
    }
    return {"select": "kind", "fields": fields, "managed": managed}


class SegmentRuleInline(StackedInline):
    model = SegmentRule
    form = SegmentRuleForm
    extra = 0
    min_num = 0
    verbose_name = gettext_lazy("rule")
    verbose_name_plural = gettext_lazy("rules")


class ListImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, with a header row naming an email or a customer_code column (a customer export "
            "works as it is). At most %(rows)s rows and %(megabytes)s MB."
        )
        % {"rows": f"{MAX_LIST_ROWS:,}", "megabytes": MAX_LIST_BYTES // (1024 * 1024)},
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("The file's customers"),
        choices=[
            (Mode.REPLACE, gettext_lazy("replace the list")),
            (Mode.ADD, gettext_lazy("are added to the list")),
        ],
        initial=Mode.REPLACE,
        widget=forms.RadioSelect,
    )


class ConfirmListImportForm(forms.Form):
    token = forms.CharField(max_length=64)
    mode = forms.ChoiceField(choices=[(mode, mode) for mode in Mode.CHOICES])


@admin.register(Segment, site=merchant_admin_site)
class SegmentAdmin(MerchantModelAdmin):
    form = SegmentForm
    list_display = ["name", "match", "rule_count", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "description", "match"]
    inlines = [SegmentRuleInline]
    change_form_template = "admin/campaigns/segment/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rule_total=Count("rules"))

    @admin.display(description=gettext_lazy("Rules"), ordering="rule_total")
    def rule_count(self, obj: Segment) -> int:
        return obj.rule_total

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:segment_id>/list/", view(self.list_members), name="campaigns_segment_list"),
            path(
                "<int:segment_id>/list/import/", view(self.list_import), name="campaigns_segment_list_import"
            ),
            path(
                "<int:segment_id>/list/import/confirm/",
                view(self.list_import_confirm),
                name="campaigns_segment_list_import_confirm",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        context["kind_fields"] = [segment_rule_fields()]
        return super().render_change_form(request, context, *args, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        segment = self.get_object(request, object_id)
        if segment is None:  # the admin would redirect; an id of nothing here is a 404
            raise Http404
        extra_context = dict(extra_context or {})
        if self.has_view_or_change_permission(request, segment):
            extra_context.update(self._audience(request, segment))
        return super().change_view(request, object_id, form_url, extra_context)

    def _audience(self, request, segment: Segment) -> dict:
        """The size and the sample, or the refusal of a stored rule that is incomplete."""
        try:
            with replica_reads():
                return {
                    "segment_size": segment_size(segment),
                    "segment_sample": segment_sample(segment, limit=SAMPLE_SIZE),
                    "list_count": SegmentListMember.objects.filter(segment=segment).count(),
                    "can_import_list": request.user.has_perm(LIST_PERMISSION),
                }
        except DomainError as error:
            return {"segment_error": error.code}

    # --- The static list --------------------------------------------------------------------

    def _segment(self, request, segment_id: int, *, change: bool) -> Segment:
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            raise Http404
        allowed = (
            request.user.has_perm(LIST_PERMISSION) and self.has_change_permission(request, segment)
            if change
            else self.has_view_permission(request, segment)
        )
        if not allowed:
            raise PermissionDenied
        return segment

    def _page(self, request, template: str, context: dict, status: int = 200):
        return render(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": Segment._meta, **context},
            status=status,
        )

    def _error(self, code: str) -> dict:
        return {"error_code": code, "error_message": PAGE_MESSAGES.get(code, code.replace("_", " "))}

    def list_members(self, request, segment_id: int):
        segment = self._segment(request, segment_id, change=False)
        members = SegmentListMember.objects.filter(segment=segment).select_related("customer").order_by("-pk")
        return self._page(
            request,
            "admin/campaigns/segment/list.html",
            {
                "title": _("The list of “%(name)s”") % {"name": segment.name},
                "segment": segment,
                "members": members[:LIST_MEMBERS_SHOWN],
                "count": members.count(),
                "shown": LIST_MEMBERS_SHOWN,
                "can_import_list": request.user.has_perm(LIST_PERMISSION),
            },
        )

    def list_import(self, request, segment_id: int):
        segment = self._segment(request, segment_id, change=True)
        form = ListImportForm(request.POST or None, request.FILES or None)
        status, context = 200, {}
        if request.method == "POST":
            if form.is_valid():
                upload, mode = form.cleaned_data["file"], form.cleaned_data["mode"]
                try:
                    if upload.size > MAX_LIST_BYTES:
                        raise errors.IMPORT_FILE_TOO_LARGE()
                    rows = parse_segment_list_csv(upload.read())
                except DomainError as error:
                    status, context = error.status, {**self._error(error.code), "error_extra": error.extra}
                else:
                    report = segment_list_import(
                        segment=segment, rows=rows, mode=mode, apply=False, actor=request.user
                    )
                    token = import_preview_store(rows, user=request.user, purpose=self._purpose(segment))
                    return self._page(
                        request,
                        "admin/campaigns/segment/list_preview.html",
                        {
                            "title": _("Check the list"),
                            "segment": segment,
                            "report": report,
                            "counts": report.counts(),
                            "mode": mode,
                            "token": token,
                            "lines_kept": UNMATCHED_LINES_KEPT,
                        },
                    )
            else:
                status, context = 422, self._error("form_invalid")
        context.update({"form": form, "segment": segment, "title": _("Import the list")})
        return self._page(request, "admin/campaigns/segment/list_import.html", context, status)

    def _purpose(self, segment: Segment) -> str:
        return f"{PREVIEW_PURPOSE}-{segment.pk}"

    def list_import_confirm(self, request, segment_id: int):
        segment = self._segment(request, segment_id, change=True)
        if request.method != "POST":
            return redirect("merchant_admin:campaigns_segment_list_import", segment.pk)
        form = ConfirmListImportForm(request.POST)
        try:
            if not form.is_valid():
                raise errors.IMPORT_TOKEN_INVALID()
            token = form.cleaned_data["token"]
            rows = import_preview_load(token, user=request.user, purpose=self._purpose(segment))
            report = segment_list_import(
                segment=segment, rows=rows, mode=form.cleaned_data["mode"], apply=True, actor=request.user
            )
        except DomainError as error:
            context = {
                "form": ListImportForm(),
                "segment": segment,
                "title": _("Import the list"),
                **self._error(error.code),
            }
            return self._page(request, "admin/campaigns/segment/list_import.html", context, error.status)
        import_preview_drop(token, purpose=self._purpose(segment))
        messages.success(
            request,
            _(
                "List imported: %(matched)d customers, %(unmatched)d rows matched nobody, "
                "%(to_remove)d removed."
            )
            % report.counts(),
        )
        return redirect(reverse("merchant_admin:campaigns_segment_change", args=[segment.pk]))
