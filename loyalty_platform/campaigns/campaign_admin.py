"""The staff's campaign pages: build a campaign (schedule, audience, trigger, actions), launch,
pause, resume or cancel it (POST buttons through campaigns.services), and read its report:
reach, grants by kind, redemptions of what it granted, what its boosts added, unsubscribes.
Runs, grants and messages have read-only lists, linked from the report."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import re_path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold import widgets as theme
from unfold.admin import StackedInline

from loyalty_platform.campaigns import runner
from loyalty_platform.campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignBoost,
    CampaignGrant,
    CampaignMessage,
    CampaignRun,
    CampaignUnsubscribe,
)
from loyalty_platform.campaigns.services import (
    ACTION_FIELDS,
    RUN_KEY_FIELDS,
    campaign_cancel,
    campaign_launch,
    campaign_pause,
    campaign_resume,
    campaign_validate,
)
from loyalty_platform.core.admin_sites import (
    MerchantModelAdmin,
    ReadOnlyAdmin,
    merchant_admin_site,
    organization_is_suspended,
)
from loyalty_platform.core.errors import DomainError
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.vouchers.models import Voucher

WEEKDAYS = [
    ("0", gettext_lazy("Monday")),
    ("1", gettext_lazy("Tuesday")),
    ("2", gettext_lazy("Wednesday")),
    ("3", gettext_lazy("Thursday")),
    ("4", gettext_lazy("Friday")),
    ("5", gettext_lazy("Saturday")),
    ("6", gettext_lazy("Sunday")),
]
EDITABLE = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED, Campaign.Status.RUNNING, Campaign.Status.PAUSED)


def _error_text(error: DomainError) -> str:
    field = error.extra.get("field")
    return f"{error.error.description} ({error.code}{': ' + field if field else ''})"


# services.RUN_KEY_FIELDS as this form names them (the weekdays are a multiple choice here).
FIXED_ONCE_RUN = tuple("weekdays" if name == "recurrence_weekdays" else name for name in RUN_KEY_FIELDS)


class CampaignForm(forms.ModelForm):
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("Weekdays"),
        choices=WEEKDAYS,
        required=False,
        widget=theme.UnfoldAdminCheckboxSelectMultipleWidget,
        help_text=gettext_lazy(
            "The days it runs on, e.g. Saturday and Sunday for every weekend; none: every day."
        ),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "description",
            "trigger",
            "segment",
            "starts_at",
            "ends_at",
            "daily_start_time",
            "daily_end_time",
            "trigger_days",
            "milestone_visits",
            "milestone_points",
        ]
        help_texts = {
            "trigger": gettext_lazy(
                "On its schedule: grants and emails go out when each run starts. Birthday, welcome, "
                "win-back, milestone and referral: each customer gets them when the event happens."
            ),
            "daily_start_time": gettext_lazy(
                "With hours, each day is its own run, e.g. 14:00; empty: midnight."
            ),
            "daily_end_time": gettext_lazy("When each day's run ends, e.g. 17:00; empty: midnight."),
            "milestone_visits": gettext_lazy(
                "Milestone: the visit that counts, e.g. 10 for the tenth purchase."
            ),
            "milestone_points": gettext_lazy("Milestone: the points earned in all that count, e.g. 1000."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["weekdays"] = [day for day in self.instance.recurrence_weekdays.split(",") if day]
            self.schedule_fixed = self.instance.runs.exists()
            if self.schedule_fixed:
                # A changed schedule would give the current occurrence a new run key.
                for name in FIXED_ONCE_RUN:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _(
                        "Fixed once the campaign has run; to change it, end this campaign and create another."
                    )

    def clean(self):
        cleaned = super().clean()
        if getattr(self, "schedule_fixed", False):
            # The stored values, not the form's rendering of them (which drops microseconds).
            for name in FIXED_ONCE_RUN:
                if name != "weekdays":
                    cleaned[name] = getattr(self.instance, name)
            return cleaned
        self.instance.recurrence_weekdays = ",".join(sorted(cleaned.get("weekdays") or []))
        return cleaned


class CampaignActionForm(forms.ModelForm):
    class Meta:
        model = CampaignAction
        fields = ACTION_FIELDS
        help_texts = {
            "kind": gettext_lazy(
                "Boosts add to earns while a run is open; gives hand something to each customer once "
                "per run; an email goes to customers who accepted news."
            ),
            "applies_to": gettext_lazy("Boosts: which purchases or order lines they apply to."),
            "multiplier": gettext_lazy("Multiply points earned: e.g. 2 for double points."),
            "points": gettext_lazy("Bonus points per visit or unit, or the points given."),
            "stamps": gettext_lazy("Bonus stamps per visit, or the stamps given."),
            "minimum_spend": gettext_lazy("Boosts: the smallest purchase they apply to; empty: any."),
            "promotion": gettext_lazy(
                "Give a voucher: taken from this promotion's unassigned codes, new codes when they run out."
            ),
            "reward": gettext_lazy("Give a reward: the customer collects it at a till, for no points."),
            "subject": gettext_lazy(
                "The email's subject; {name}, {points}, {stamps} and {voucher_code} are filled in."
            ),
        }


class CampaignActionFormSet(BaseInlineFormSet):
    """The campaign and its actions are checked together by the service's rules."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        campaign = self.instance
        if self.forms or campaign.pk is None:
            actions = [
                form.instance
                for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("kind")
            ]
        else:  # the actions are read-only here: the saved ones count
            actions = list(campaign.actions.all())
        if not campaign.name or campaign.starts_at is None:
            return  # the campaign form reports its own missing fields
        try:
            campaign_validate(campaign, actions)
        except DomainError as error:
            raise ValidationError(_error_text(error), code=error.code) from None


class CampaignActionInline(StackedInline):
    model = CampaignAction
    form = CampaignActionForm
    formset = CampaignActionFormSet
    extra = 0
    min_num = 0
    fields = list(ACTION_FIELDS)

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 1 if obj is None else 0  # a new campaign starts with one action to fill in

    def _editable(self, obj) -> bool:
        # Grants and messages point at the actions: once a campaign left its draft they stay.
        return obj is None or obj.status == Campaign.Status.DRAFT

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


def campaign_report(campaign: Campaign) -> dict:
    """The report's figures, each one query over the campaign's rows."""
    grants = CampaignGrant.objects.filter(run__campaign=campaign)
    by_kind = list(
        grants.values("action__kind")
        .annotate(count=Count("pk"), points=Sum("points"), stamps=Sum("stamps"))
        .order_by("action__kind")
    )
    labels = dict(CampaignAction.Kind.choices)
    for row in by_kind:
        row["label"] = labels.get(row["action__kind"], row["action__kind"])
    sent = CampaignMessage.objects.filter(run__campaign=campaign)
    boosts = CampaignBoost.objects.filter(campaign=campaign).aggregate(
        count=Count("pk"),
        points=Sum("points"),
        points_returned=Sum("points_returned"),
        stamps=Sum("stamps"),
        stamps_returned=Sum("stamps_returned"),
    )
    granted_vouchers = Voucher.objects.filter(
        pk__in=grants.filter(voucher__isnull=False).values("voucher_id")
    )
    granted_rewards = RewardReception.objects.filter(
        pk__in=grants.filter(reward_reception__isnull=False).values("reward_reception_id")
    )
    return {
        "audience": runner.audience(campaign).count(),
        "reached": grants.values("customer_id").union(sent.values("customer_id")).count(),
        "messages": sent.aggregate(
            sent=Count("pk", filter=Q(status=CampaignMessage.Status.SENT)),
            failed=Count("pk", filter=Q(status=CampaignMessage.Status.FAILED)),
            queued=Count("pk", filter=Q(status=CampaignMessage.Status.QUEUED)),
            skipped=Count("pk", filter=Q(status=CampaignMessage.Status.SKIPPED)),
        ),
        "grants": by_kind,
        "vouchers_granted": granted_vouchers.count(),
        "vouchers_used": granted_vouchers.filter(uses__gt=0).count(),
        "rewards_granted": granted_rewards.count(),
        "rewards_collected": granted_rewards.filter(status=RewardReception.Status.COLLECTED).count(),
        "boosts": boosts["count"],
        "boost_points": (boosts["points"] or 0) - (boosts["points_returned"] or 0),
        "boost_stamps": (boosts["stamps"] or 0) - (boosts["stamps_returned"] or 0),
        "unsubscribes": CampaignUnsubscribe.objects.filter(campaign=campaign).count(),
        "runs": list(
            campaign.runs.annotate(
                grant_count=Count("grants", distinct=True), message_count=Count("messages", distinct=True)
            ).order_by("-starts_at")[:20]
        ),
    }


STATE_BUTTONS = {
    Campaign.Status.DRAFT: ("launch", "cancel"),
    Campaign.Status.SCHEDULED: ("pause", "cancel"),
    Campaign.Status.RUNNING: ("pause", "cancel"),
    Campaign.Status.PAUSED: ("resume", "cancel"),
}
BUTTON_LABELS = {
    "launch": gettext_lazy("Launch"),
    "pause": gettext_lazy("Pause"),
    "resume": gettext_lazy("Resume"),
    "cancel": gettext_lazy("Cancel campaign"),
}
SERVICES = {
    "launch": (campaign_launch, gettext_lazy("Launched.")),
    "pause": (campaign_pause, gettext_lazy("Paused: nothing new goes out until you resume it.")),
    "resume": (campaign_resume, gettext_lazy("Resumed.")),
    "cancel": (campaign_cancel, gettext_lazy("Cancelled: nothing new goes out; what was granted stays.")),
}


_BOOST_FIELDS = ["applies_to", "match_values", "minimum_spend"]
ACTION_KIND_FIELDS = {
    CampaignAction.Kind.POINTS_MULTIPLIER: ["multiplier", *_BOOST_FIELDS],
    CampaignAction.Kind.BONUS_POINTS: ["points", *_BOOST_FIELDS],
    CampaignAction.Kind.BONUS_STAMPS: ["stamps", *_BOOST_FIELDS],
    CampaignAction.Kind.GRANT_POINTS: ["points"],
    CampaignAction.Kind.GRANT_STAMPS: ["stamps"],
    CampaignAction.Kind.GRANT_VOUCHER: ["promotion"],
    CampaignAction.Kind.GRANT_REWARD: ["reward"],
    CampaignAction.Kind.MESSAGE: ["subject", "body"],
}
TRIGGER_FIELDS = {
    Campaign.Trigger.BIRTHDAY: ["trigger_days"],
    Campaign.Trigger.WIN_BACK: ["trigger_days"],
    Campaign.Trigger.MILESTONE: ["milestone_visits", "milestone_points"],
}


def campaign_kind_fields() -> list[dict]:
    """What static/js/kind_fields.js shows for each action kind and each trigger."""
    return [
        {
            "select": "kind",
            "fields": ACTION_KIND_FIELDS,
            "managed": [name for name in ACTION_FIELDS if name != "kind"],
        },
        {
            "select": "trigger",
            "fields": TRIGGER_FIELDS,
            "managed": ["trigger_days", "milestone_visits", "milestone_points"],
        },
    ]


@admin.register(Campaign, site=merchant_admin_site)
class CampaignAdmin(MerchantModelAdmin):
    form = CampaignForm
    inlines = [CampaignActionInline]
    list_display = ["name", "status", "trigger", "starts_at", "ends_at", "segment"]
    list_filter = ["status", "trigger"]
    search_fields = ["name"]
    change_form_template = "admin/campaigns/campaign/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (
            gettext_lazy("Schedule"),
            {"fields": ["starts_at", "ends_at", "weekdays", "daily_start_time", "daily_end_time"]},
        ),
        (gettext_lazy("Audience"), {"fields": ["segment"]}),
        (
            gettext_lazy("Trigger"),
            {"fields": ["trigger", "trigger_days", "milestone_visits", "milestone_points"]},
        ),
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status not in EDITABLE:
            return False  # ended and cancelled campaigns are read-only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A campaign that ran has grants and messages pointing at it: cancel it instead.
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
            obj.status = Campaign.Status.DRAFT
        super().save_model(request, obj, form, change)

    def render_change_form(self, request, context, *args, **kwargs):
        context["kind_fields"] = campaign_kind_fields()
        return super().render_change_form(request, context, *args, **kwargs)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            re_path(
                r"^(?P<campaign_id>[0-9]+)/(?P<step>launch|pause|resume|cancel)/$",
                view(self.state_change),
                name="campaigns_campaign_state",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if campaign is not None and self.has_view_permission(request, campaign):
            can_change_status = request.user.has_perm("campaigns.change_campaign")
            extra["report"] = campaign_report(campaign)
            extra["state_buttons"] = [
                (step, BUTTON_LABELS[step])
                for step in STATE_BUTTONS.get(campaign.status, ())
                if can_change_status
            ]
            extra["links"] = {
                "runs": reverse("merchant_admin:campaigns_campaignrun_changelist")
                + f"?campaign__id__exact={campaign.pk}",
                "grants": reverse("merchant_admin:campaigns_campaigngrant_changelist")
                + f"?run__campaign__id__exact={campaign.pk}",
                "messages": reverse("merchant_admin:campaigns_campaignmessage_changelist")
                + f"?run__campaign__id__exact={campaign.pk}",
            }
        return super().change_view(request, object_id, form_url, extra)

    def state_change(self, request: HttpRequest, campaign_id: int, step: str) -> HttpResponse:
        """Launch, pause, resume or cancel (POST only); a refusal shows its code with its status."""
        return _state_change(self, request, campaign_id, step)


def _state_change(
    model_admin: CampaignAdmin, request: HttpRequest, campaign_id: int, step: str
) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    if organization_is_suspended(request):
        return model_admin.admin_site.suspended_response(request)
    service, done = SERVICES[step]
    try:
        service(actor=request.user, campaign=campaign)
    except DomainError as error:
        context = {
            **model_admin.admin_site.each_context(request),
            "title": _("Not possible now"),
            "campaign": campaign,
            "error_code": error.code,
            "error_text": _error_text(error),
            "opts": Campaign._meta,
        }
        return TemplateResponse(
            request, "admin/campaigns/campaign/refused.html", context, status=error.status
        )
    messages.success(request, done)
    return redirect("merchant_admin:campaigns_campaign_change", campaign.pk)


@admin.register(CampaignRun, site=merchant_admin_site)
class CampaignRunAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "key", "starts_at", "ends_at", "status", "grant_cursor", "message_cursor"]
    list_filter = ["status", "campaign"]


@admin.register(CampaignGrant, site=merchant_admin_site)
class CampaignGrantAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "action", "points", "stamps", "voucher", "reward_reception"]
    list_filter = ["action__kind", "run__campaign"]
    list_select_related = ["customer", "action", "voucher", "reward_reception__reward"]
    search_fields = ["customer__email", "customer__customer_code"]


@admin.register(CampaignMessage, site=merchant_admin_site)
class CampaignMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "email", "status", "attempts", "sent_at"]
    list_filter = ["status", "run__campaign"]
    search_fields = ["email"]
