"""The plan's limits (tenants.models.Plan: customers, API keys, shops, staff), enforced by the
services that create those things.

A check counts and the caller then inserts; two creations at limit-1 racing each other would
both see room. So the check takes a transaction-scoped advisory lock named after the schema
and the limit first: the second creation waits until the first commits (or rolls back) and
then counts its row. The lock is only taken when the plan has a limit."""

from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty_platform.accounts.models import User
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.shops.models import Shop
from tenants.models import ApiKey, Organization, Plan
from tenants.selectors import organization_plan


def _customers(organization: Organization) -> int:
    # Erased customers keep their row for the books but are no longer members.
    return Customer.objects.exclude(status=Customer.Status.DELETED).count()


def _api_keys(organization: Organization) -> int:
    # Browser-till keys come and go with staff sign-ins; the staff limit covers them.
    return ApiKey.objects.filter(
        organization_id=organization.pk, revoked_at__isnull=True, staff_user_id__isnull=True
    ).count()


def _shops(organization: Organization) -> int:
    return Shop.objects.count()


def _staff(organization: Organization) -> int:
    # Invited people who have not accepted yet hold their seat already; the operators'
    # support accounts (tenants.lifecycle) are not the merchant's staff.
    return User.objects.filter(is_active=True, is_staff=True, is_platform_support=False).count()


_COUNTERS = {"customers": _customers, "api_keys": _api_keys, "shops": _shops, "staff": _staff}


def _in_schema_of(organization: Organization) -> None:
    if connection.schema_name != organization.schema_name:
        raise RuntimeError("plan limits are counted in the organization's own schema")


def current_organization() -> Organization:
    """The organization whose schema the connection uses (schema_context sets a stand-in)."""
    tenant = connection.tenant
    if isinstance(tenant, Organization) and tenant.pk is not None:
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)


def organization_writable_check() -> None:
    """ORGANIZATION_SUSPENDED when the connection's organization is suspended or awaiting its
    deletion: then nothing may change (docs/decisions/0035). For the services customers reach
    outside the POS API, whose authentication refuses suspended organizations already."""
    if current_organization().is_suspended:
        raise errors.ORGANIZATION_SUSPENDED()


def _allowed(organization: Organization, limit: str) -> int | None:
    plan = organization_plan(organization=organization)
    return plan.limit(limit) if plan is not None else None


def _check(organization: Organization, limit: str, adding: int, allowed: int) -> None:
    if limit != "api_keys":  # the keys' table is the public schema's
        _in_schema_of(organization)
    if _COUNTERS[limit](organization) + adding > allowed:
        raise errors.PLAN_LIMIT_REACHED(limit=limit, allowed=allowed)


def plan_limit_reserve(*, organization: Organization, limit: str, adding: int = 1) -> None:
    """Room for `adding` more of `limit` on the organization's plan, or PLAN_LIMIT_REACHED.
    Call it in the transaction that then creates them, before the insert: the lock it takes
    holds until that transaction ends."""
    allowed = _allowed(organization, limit)
    if allowed is None:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("plan_limit_reserve runs inside the creating transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"plan_limit:{organization.schema_name}:{limit}"]
        )
    _check(organization, limit, adding, allowed)


def plan_limit_check(*, organization: Organization, limit: str, adding: int = 1) -> None:
    """As plan_limit_reserve, without the lock: for a form to say so before anything is
    tried (the creating service still reserves)."""
    allowed = _allowed(organization, limit)
    if allowed is not None:
        _check(organization, limit, adding, allowed)


@dataclass(frozen=True)
class LimitUse:
    name: str
    label: str
    used: int
    allowed: int | None

    @property
    def reached(self) -> bool:
        return self.allowed is not None and self.used >= self.allowed


def limit_label(limit: str) -> str:
    return {
        "customers": _("Customers"),
        "api_keys": _("API keys"),
        "shops": _("Shops"),
        "staff": _("Staff accounts"),
    }[limit]


def plan_limit_uses(*, organization: Organization, plan: Plan | None) -> list[LimitUse]:
    """Each limit with how much of it the organization uses now (in its schema)."""
    _in_schema_of(organization)
    return [
        LimitUse(
            name=name,
            label=limit_label(name),
            used=_COUNTERS[name](organization),
            allowed=plan.limit(name) if plan is not None else None,
        )
        for name in Plan.LIMITS
    ]


def plan_limit_message(error: DomainError) -> str:
    """What staff read when a creation is refused for the plan: which limit, and what to do."""
    allowed = error.extra["allowed"]
    what = {
        "customers": ngettext("%(count)d customer", "%(count)d customers", allowed),
        "api_keys": ngettext("%(count)d API key", "%(count)d API keys", allowed),
        "shops": ngettext("%(count)d shop", "%(count)d shops", allowed),
        "staff": ngettext("%(count)d active staff account", "%(count)d active staff accounts", allowed),
    }[error.extra["limit"]] % {"count": allowed}
    return _(
        "Your plan allows %(what)s and this organization has reached it, so nothing was added. "
        "Remove one you no longer need, or ask the platform operator for a larger plan "
        "(see Plan and usage)."
    ) % {"what": what}
