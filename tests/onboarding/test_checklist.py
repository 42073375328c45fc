"""The onboarding checklist's steps, each read from the state it stands for: false on a new
organization, true after the real change, and never ticked by another organization's rows."""

import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.roles import CASHIER
from loyalty_platform.accounts.services import staff_invite
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.branding.services import logo_replace
from loyalty_platform.onboarding.models import OnboardingState
from loyalty_platform.onboarding.selectors import onboarding_checklist
from loyalty_platform.onboarding.services import checklist_dismiss, join_link_shared
from loyalty_platform.programs.services import customer_earn
from loyalty_platform.rewards.models import Reward
from loyalty_platform.shops.models import Shop
from loyalty_platform.till.services import till_key_issue
from tenants.lifecycle import support_account_ensure
from tenants.models import Organization
from tenants.services import api_key_create
from tests.factories import PointProgramFactory, StaffUserFactory, StampProgramFactory
from tests.pos_fixtures import create_customer, create_programs

STEPS = ("brand", "program", "reward", "staff", "key", "sale", "share")
NOTHING_DONE = dict.fromkeys(STEPS, False)


def steps_of(organization: Organization) -> dict[str, bool]:
    organization.refresh_from_db()
    with tenant_context(organization):
        return {step.key: step.done for step in onboarding_checklist(organization=organization).steps}


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "#aa3355").save(out, format="PNG")
    return SimpleUploadedFile("logo.png", out.getvalue(), content_type="image/png")


def change_brand_colour(organization):
    Organization.objects.filter(pk=organization.pk).update(brand_color="#aa3355")


def upload_logo(organization):
    with tenant_context(organization):
        logo_replace(upload=png(), actor=None)


def create_stamp_program(organization):
    with tenant_context(organization):
        StampProgramFactory()


def create_point_program(organization):
    with tenant_context(organization):
        PointProgramFactory()


def create_reward(organization):
    with tenant_context(organization):
        Reward.objects.create(name="Cake", required_credits=100)


def invite_a_cashier(organization):
    with tenant_context(organization):
        owner = StaffUserFactory(email="owner@example.com")
        staff_invite(organization=organization, email="cashier@example.com", role=CASHIER, invited_by=owner)


def add_a_second_staff_member(organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
        StaffUserFactory(email="manager@example.com", role="manager")


def issue_an_api_key(organization):
    api_key_create(organization=organization, label="Till 1")


def open_the_browser_till(organization):
    with tenant_context(organization):
        owner = StaffUserFactory(email="owner@example.com")
        till_key_issue(organization=organization, user=owner, shop=Shop.objects.create(name="Harbour"))


def run_a_test_sale(organization):
    create_programs(organization)
    customer = create_customer(organization)
    with tenant_context(organization):
        customer_earn(customer=customer, amount=Decimal("5"), card_type="stamp", external_id="sale-1")


def download_the_poster(organization):
    with tenant_context(organization):
        join_link_shared(actor=None, how="poster")


def copy_the_link(organization):
    with tenant_context(organization):
        join_link_shared(actor=None, how="link")


@pytest.mark.parametrize(
    ("step", "change"),
    [
        ("brand", change_brand_colour),
        ("brand", upload_logo),
        ("program", create_stamp_program),
        ("program", create_point_program),
        ("reward", create_reward),
        ("staff", invite_a_cashier),
        ("staff", add_a_second_staff_member),
        ("key", issue_an_api_key),
        ("key", open_the_browser_till),
        ("sale", run_a_test_sale),
        ("share", download_the_poster),
        ("share", copy_the_link),
    ],
)
def test_a_step_ticks_after_the_real_change_and_only_in_its_organization(
    organization, other_organization, step, change
):
    assert steps_of(organization) == NOTHING_DONE
    assert steps_of(other_organization) == NOTHING_DONE

    change(organization)

    # A test sale needs a program: that step ticks along with it.
    also = {"program": True} if step == "sale" else {}
    assert steps_of(organization) == {**NOTHING_DONE, **also, step: True}
    assert steps_of(other_organization) == NOTHING_DONE


def test_what_does_not_count(organization):
    """The default colour saved again (in capitals), an inactive program, a lone owner with
    an operator's support account and a staff adjustment of points are not the steps they
    look like."""
    Organization.objects.filter(pk=organization.pk).update(brand_color="#1F6F5C")
    with tenant_context(organization):
        StampProgramFactory(is_active=False)
        StaffUserFactory(email="owner@example.com")
    operator = User.objects.create_superuser(email="operator@platform.example", password="operator-pw-1")
    support_account_ensure(organization=organization, operator=operator)

    assert steps_of(organization) == NOTHING_DONE

    create_programs(organization)
    create_customer(organization, points=300)  # its points come as an adjustment, not a sale
    assert steps_of(organization) == {**NOTHING_DONE, "program": True}


def test_the_checklist_counts_and_hides_when_done_or_dismissed(organization):
    with tenant_context(organization):
        checklist = onboarding_checklist(organization=organization)
    assert (checklist.done_count, checklist.total, checklist.complete, checklist.visible) == (
        0,
        7,
        False,
        True,
    )

    for change in (
        change_brand_colour,
        create_reward,
        invite_a_cashier,
        issue_an_api_key,
        run_a_test_sale,
        download_the_poster,
    ):
        change(organization)
    organization.refresh_from_db()
    with tenant_context(organization):
        checklist = onboarding_checklist(organization=organization)
    assert (checklist.done_count, checklist.complete, checklist.visible) == (7, True, False)


def test_a_dismissal_is_kept_once_per_organization_and_audited(organization, other_organization):
    with tenant_context(organization):
        owner = StaffUserFactory(email="owner@example.com")
        first = checklist_dismiss(actor=owner)
        again = checklist_dismiss(actor=owner)
        assert again.dismissed_at == first.dismissed_at
        assert OnboardingState.objects.count() == 1
        assert onboarding_checklist(organization=organization).visible is False
        assert list(AuditLogEntry.objects.values_list("action", "actor__email")) == [
            ("onboarding.dismiss", "owner@example.com")
        ]
    with tenant_context(other_organization):
        assert onboarding_checklist(organization=other_organization).dismissed is False
        assert not OnboardingState.objects.exists()


def test_sharing_keeps_the_first_time_and_audits_each_share(organization):
    with tenant_context(organization):
        first = join_link_shared(actor=None, how="poster")
        again = join_link_shared(actor=None, how="link")
        assert again.join_link_shared_at == first.join_link_shared_at
        assert list(AuditLogEntry.objects.order_by("pk").values_list("action", "details")) == [
            ("onboarding.join_link_share", {"how": "poster"}),
            ("onboarding.join_link_share", {"how": "link"}),
        ]
        with pytest.raises(ValueError):
            join_link_shared(actor=None, how="fax")
        assert AuditLogEntry.objects.count() == 2


def test_the_migration_starts_the_checklist_dismissed_only_where_sales_exist(
    organization, other_organization
):
    migration = importlib.import_module("loyalty_platform.onboarding.migrations.0001_initial")
    run_a_test_sale(organization)
    create_programs(other_organization)
    create_customer(other_organization, points=50)  # an adjustment only

    for each in (organization, other_organization):
        with tenant_context(each):
            migration.dismiss_where_already_selling(django_apps, None)

    with tenant_context(organization):
        assert onboarding_checklist(organization=organization).dismissed is True
    with tenant_context(other_organization):
        assert not OnboardingState.objects.exists()
