"""What organizations used (tenants.models.UsageDay), for the operator's console and the
owner's plan page."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Max, Sum

from tenants.models import UsageDay


@dataclass(frozen=True)
class MonthUsage:
    api_calls: int = 0
    messages: int = 0
    # The latest measurement in the month (None when nothing was measured yet).
    customers: int | None = None
    storage_bytes: int | None = None


def month_start(day: date) -> date:
    return day.replace(day=1)


def usage_this_month(*, organization_ids: list[int], today: date) -> dict[int, MonthUsage]:
    """Each organization's calls and messages from the first of `today`'s month, with its
    latest customer and storage measurement; organizations without rows are left out."""
    rows = (
        UsageDay.objects.filter(
            organization_id__in=organization_ids, day__gte=month_start(today), day__lte=today
        )
        .values("organization_id")
        .annotate(api_calls=Sum("api_calls"), messages=Sum("messages"), last_day=Max("day"))
    )
    totals = {row["organization_id"]: row for row in rows}
    measured = {
        row["organization_id"]: row
        for row in UsageDay.objects.filter(
            organization_id__in=list(totals), day__gte=month_start(today), day__lte=today
        )
        .exclude(customers__isnull=True)
        .order_by("organization_id", "-day")
        .distinct("organization_id")
        .values("organization_id", "customers", "storage_bytes")
    }
    return {
        organization_id: MonthUsage(
            api_calls=row["api_calls"] or 0,
            messages=row["messages"] or 0,
            customers=measured.get(organization_id, {}).get("customers"),
            storage_bytes=measured.get(organization_id, {}).get("storage_bytes"),
        )
        for organization_id, row in totals.items()
    }
