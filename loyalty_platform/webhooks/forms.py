"""The portal's webhook forms. They check input with the services' own rules (the services check
again when called), so a refusal shows beside its field and nothing is saved."""

from django import forms
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold import widgets as theme

from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.portal_forms import PortalFormMixin
from loyalty_platform.webhooks import services
from loyalty_platform.webhooks.addresses import REASONS
from loyalty_platform.webhooks.events import EVENT_TYPES
from loyalty_platform.webhooks.models import ALL_EVENTS, WebhookEndpoint

URL_REASONS = {
    "url_invalid": _("Enter an http(s) URL with a host name, e.g. https://shop.example.com/loyalty-events."),
    "https_required": _("The URL must start with https://."),
    "host_unresolvable": _("The host name does not resolve: check it for typing errors."),
    "address_refused": _(
        "The host resolves to a private, loopback, link-local or reserved address; webhooks go to "
        "public addresses only."
    ),
}
assert set(URL_REASONS) == set(REASONS)

OVERLAP_CHOICES = [
    (0, _("None: the current secret stops signing now")),
    (1, _("1 hour")),
    (24, _("24 hours")),
    (168, _("7 days")),
]
assert [hours for hours, _label in OVERLAP_CHOICES] == list(services.ROTATION_OVERLAPS)


def _event_choices() -> list[tuple[str, str]]:
    return [
        (name, format_html("<code>{}</code>: {}", name, description))
        for name, description in EVENT_TYPES.items()
    ]


class EndpointForm(forms.ModelForm):
    """The endpoint's URL, description and events. `url` is a form field of its own: the
    addresses module decides what a usable URL is, not Django's URL validator."""

    url = forms.CharField(
        label=_("URL"),
        max_length=services.URL_MAX_LENGTH,
        widget=theme.UnfoldAdminTextInputWidget(attrs={"inputmode": "url", "autocomplete": "off"}),
        help_text=_(
            "Where the events are POSTed, e.g. https://shop.example.com/loyalty-events. Outside "
            "development it must be https and reach a public address."
        ),
    )
    all_events = forms.BooleanField(
        label=_("All events, also those added later"),
        required=False,
        widget=theme.UnfoldBooleanWidget,
        help_text=_(
            "Ticked: every event type, including types a later version adds. The list below is then ignored."
        ),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        choices=_event_choices,
        widget=theme.UnfoldAdminCheckboxSelectMultipleWidget,
        help_text=_("The event types this endpoint receives."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["description"]
        help_texts = {"description": _('What this endpoint is for, e.g. "CRM sync".')}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("url", self.instance.url)
            types = self.instance.event_types
            self.initial.setdefault("all_events", ALL_EVENTS in types)
            self.initial.setdefault("events", [name for name in types if name != ALL_EVENTS])

    def clean_url(self) -> str:
        try:
            return services.endpoint_url_check(self.cleaned_data["url"])
        except DomainError as error:
            raise forms.ValidationError(
                URL_REASONS[error.extra["reason"]], code=error.extra["reason"]
            ) from None

    def clean_description(self) -> str:
        try:
            return services.description_clean(self.cleaned_data.get("description") or "")
        except DomainError as error:
            raise forms.ValidationError(_("At most 200 characters, on one line."), code=error.code) from None

    def clean(self):
        cleaned = super().clean()
        chosen = [ALL_EVENTS] if cleaned.get("all_events") else cleaned.get("events") or []
        try:
            cleaned["event_types"] = services.event_types_clean(chosen)
        except DomainError as error:
            self.add_error(
                "events",
                forms.ValidationError(_("Choose at least one event, or all events."), code=error.code),
            )
        return cleaned


class RotateForm(PortalFormMixin, forms.Form):
    overlap_hours = forms.TypedChoiceField(
        label=_("Overlap"),
        choices=OVERLAP_CHOICES,
        coerce=int,
        initial=24,
        widget=forms.RadioSelect,
        help_text=_(
            "How long the current secret goes on signing beside the new one, so your receiver can "
            "switch without refusing events. Each request then carries one signature per secret."
        ),
    )


class RedeliverFailedForm(PortalFormMixin, forms.Form):
    since = forms.DateTimeField(
        label=_("Failed deliveries since"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["since"].help_text = _(
            "Every failed delivery created at or after this time is sent again. Times are in %(zone)s, "
            "as on this page."
        ) % {"zone": timezone.get_current_timezone_name()}
