"""The onboarding checklist of a new organization's dashboard. Each step is read from the
state it stands for (a logo, an active program, a ledger earn...), never from a flag set when
a page was visited, so a step done by any way (the portal, the POS API, the shell) ticks."""

from dataclasses import dataclass, replace

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from loyalty_platform.accounts.models import StaffInvitation, User
from loyalty_platform.branding.models import Logo
from loyalty_platform.onboarding.models import OnboardingState
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.rewards.models import Reward
from tenants.branding import DEFAULT_BRAND_COLOR
from tenants.models import ApiKey, Organization
from tenants.platform import base_url
from tenants.services import organization_primary_hostname

SITE = "merchant_admin"
# Who sees the checklist and may dismiss it: staff who set the program up (owners, managers).
CHECKLIST_PERMISSION = "programs.add_program"


@dataclass(frozen=True)
class Link:
    label: str | Promise
    url: str
    # The page's permission: a link the staff member may not follow is left out.
    permission: str


@dataclass(frozen=True)
class Step:
    key: str
    title: str | Promise
    done: bool
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Step, ...]
    dismissed: bool

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == self.total

    @property
    def visible(self) -> bool:
        return not (self.dismissed or self.complete)


def onboarding_state() -> OnboardingState | None:
    return OnboardingState.objects.filter(singleton=True).first()


def brand_done(organization: Organization) -> bool:
    if (organization.brand_color or "").lower() != DEFAULT_BRAND_COLOR:
        return True
    return Logo.objects.filter(is_current=True).exists()


def program_done() -> bool:
    return Program.objects.filter(is_active=True).exists()


def reward_done() -> bool:
    return Reward.objects.exists()


def staff_done() -> bool:
    # An operator's support account (tenants.lifecycle) is nobody the merchant invited.
    return (
        StaffInvitation.objects.exists()
        or User.objects.filter(is_active=True, is_platform_support=False).count() > 1
    )


def key_done(organization: Organization) -> bool:
    # Till keys included: opening the browser till issues one.
    return ApiKey.objects.filter(organization_id=organization.pk).exists()


def sale_done() -> bool:
    causes = (LedgerEntry.Cause.EARN, LedgerEntry.Cause.ORDER)
    return LedgerEntry.objects.filter(Q(cause__in=causes), delta__gt=0).exists()


def join_url(*, organization: Organization) -> str:
    """The customers' sign-up page of the organization's profile, on its primary host."""
    return base_url(organization_primary_hostname(organization=organization)) + reverse("profile-signup")


def onboarding_checklist(*, organization: Organization, user=None) -> Checklist:
    """The checklist of `organization`, whose schema is the current one; with `user`, each
    step links only to the pages that staff member may open."""
    state = onboarding_state()

    def link(label, url_name: str, permission: str, *args) -> Link:
        return Link(label, reverse(f"{SITE}:{url_name}", args=args), permission)

    till = link(_("Open the till"), "till", "accounts.use_till")
    steps = (
        Step(
            "brand",
            _("Add your brand: upload a logo or pick your colour"),
            brand_done(organization),
            (
                link(
                    _("Pick a colour"),
                    "tenants_organization_change",
                    "tenants.change_organization",
                    organization.pk,
                ),
                link(_("Upload a logo"), "branding_logo_add", "branding.add_logo"),
            ),
        ),
        Step(
            "program",
            _("Create your first point or stamp program"),
            program_done(),
            (link(_("Create a program"), "programs_program_add", "programs.add_program"),),
        ),
        Step(
            "reward",
            _("Add a first reward"),
            reward_done(),
            (link(_("Add a reward"), "rewards_reward_add", "rewards.add_reward"),),
        ),
        Step(
            "staff",
            _("Invite your staff"),
            staff_done(),
            (link(_("Invite staff"), "accounts_user_invite", "accounts.manage_staff"),),
        ),
        Step(
            "key",
            _("Connect a till: issue an API key or open the browser till"),
            key_done(organization),
            (link(_("Issue an API key"), "tenants_apikey_add", "tenants.add_apikey"), till),
        ),
        Step("sale", _("Run a test sale at the till"), sale_done(), (till,)),
        Step(
            "share",
            _("Share your join link and print its QR poster"),
            state is not None and state.join_link_shared_at is not None,
            (link(_("Share your program"), "onboarding_share", "accounts.view_dashboard"),),
        ),
    )
    if user is not None:
        steps = tuple(
            replace(step, links=tuple(each for each in step.links if user.has_perm(each.permission)))
            for step in steps
        )
    return Checklist(steps=steps, dismissed=state is not None and state.dismissed_at is not None)
