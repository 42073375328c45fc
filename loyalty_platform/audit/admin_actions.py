"""Admin actions that change state through audited services, one object at a time.

The action bar carries a reason field (the audit log keeps it); each selected object goes
through the service in its own transaction, so one refusal (already blocked, not active)
skips that object and says so, and never half-changes another."""

from collections import Counter
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_platform.core.errors import DomainError

MAX_SELECTED = 500


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=255,
        required=False,
        help_text=gettext_lazy("Why; it is kept in the audit log. Blocks and voids need one."),
    )


def audited_action(
    request: HttpRequest, queryset: QuerySet, service: Callable[..., object], *, keyword: str, done: str
) -> int:
    """Call `service(<keyword>=obj, actor=..., reason=...)` for each selected object; report
    how many changed and, per refusal code, how many were skipped. Returns the count done."""
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, _("Give a reason for the audit log; nothing was changed."))
        return 0
    selected = list(queryset.order_by("pk")[: MAX_SELECTED + 1])
    if len(selected) > MAX_SELECTED:
        messages.error(
            request, _("Select at most %(max)d at a time; nothing was changed.") % {"max": MAX_SELECTED}
        )
        return 0
    count, skipped = 0, Counter()
    for obj in selected:
        try:
            service(**{keyword: obj}, actor=request.user, reason=reason)
        except DomainError as error:
            skipped[error.code] += 1
        else:
            count += 1
    messages.success(request, done % {"count": count})
    for code, number in sorted(skipped.items()):
        messages.warning(request, _("Skipped %(count)d: %(code)s.") % {"count": number, "code": code})
    return count
