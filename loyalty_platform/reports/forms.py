from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty_platform.reports.periods import local_today

PERIOD_DAYS = (7, 30, 90)
DEFAULT_PERIOD_DAYS = 30
# A custom period is read partly from the ledgers; a bound keeps one page's work bounded.
MAX_CUSTOM_DAYS = 366


class PeriodForm(forms.Form):
    """The dashboard's period from the query string: the last 7, 30 or 90 days (today
    included), or custom start and end dates. `chosen_period()` gives the days to show, the default
    period when the input is missing or wrong (the form then carries the errors)."""

    period = forms.ChoiceField(
        label=_("Period"),
        choices=[(str(days), _("Last %(days)d days") % {"days": days}) for days in PERIOD_DAYS]
        + [("custom", _("Custom"))],
        required=False,
        initial=str(DEFAULT_PERIOD_DAYS),
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") != "custom" or self.errors:
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None or end is None:
            raise forms.ValidationError(
                _("A custom period needs a start and an end date."), code="incomplete"
            )
        if start > end:
            raise forms.ValidationError(_("The start date is after the end date."), code="reversed")
        if end > local_today():
            raise forms.ValidationError(_("The end date is in the future."), code="future")
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise forms.ValidationError(
                _("A custom period is at most %(days)d days."),
                code="too_long",
                params={"days": MAX_CUSTOM_DAYS},
            )
        return cleaned

    def chosen_period(self) -> tuple[date, date]:
        today = local_today()
        days = DEFAULT_PERIOD_DAYS
        if self.is_valid():
            choice = self.cleaned_data.get("period")
            if choice == "custom":
                return self.cleaned_data["start"], self.cleaned_data["end"]
            if choice:
                days = int(choice)
        return today - timedelta(days=days - 1), today
