from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.campaigns.models import Campaign, CampaignAction, Segment, SegmentRule
from loyalty_platform.campaigns.services import campaign_create
from loyalty_platform.orders.models import EarningRule
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.services import point_program_create, stamp_program_create
from loyalty_platform.rewards.models import Reward
from loyalty_platform.shops.models import Shop
from loyalty_platform.shops.services import shop_create
from loyalty_platform.tiers.models import Tier
from tenants.models import Organization
from tenants.services import api_key_create

DEMO_STAFF_PASSWORD = "demo-staff-password"  # noqa: S105 - published demo login


@dataclass(frozen=True)
class DemoData:
    staff_email: str
    staff_password: str | None  # None when the staff user existed before this call
    api_key: str | None  # None when a demo key existed before this call


def sample_data_create(*, organization: Organization) -> Shop:
    """The sample setup of a new organization, creating only what is missing: a point program
    (1 point per 1.00; 100 points = 1.00, at least 100), a 10-stamp card whose full card
    issues a "Free Coffee" coupon, two tiers, two earning rules, two rewards and a shop. No
    people and no keys: a merchant's own sign-up asks for this (tenants.signup)."""
    with tenant_context(organization), transaction.atomic():
        if not Program.objects.filter(kind=Program.Kind.POINT, is_active=True).exists():
            point_program_create(
                name="Points",
                earn_points_per_unit=Decimal("1"),
                redeem_points_per_unit=100,
                min_redeem_points=100,
            )
        if not Program.objects.filter(kind=Program.Kind.STAMP, is_active=True).exists():
            stamp_program_create(name="Coffee card", stamps_per_card=10, reward_name="Free Coffee")
        if not Tier.objects.exists():
            Tier.objects.create(name="Silver", threshold_points=250, points_multiplier=Decimal("1.25"))
            Tier.objects.create(name="Gold", threshold_points=1000, points_multiplier=Decimal("1.5"))
        if not EarningRule.objects.exists():
            EarningRule.objects.create(
                name="Double points on pastries",
                applies_to=EarningRule.AppliesTo.CATEGORY,
                match_values="pastry",
                effect=EarningRule.Effect.MULTIPLIER,
                multiplier=Decimal("2"),
            )
            EarningRule.objects.create(
                name="10 points per visit from 5.00",
                applies_to=EarningRule.AppliesTo.VISIT,
                effect=EarningRule.Effect.BONUS,
                bonus_points=10,
                minimum_spend=Decimal("5"),
            )
        if not Reward.objects.exists():
            Reward.objects.create(name="Croissant", required_credits=150)
            Reward.objects.create(name="Lunch menu", required_credits=800)
        return Shop.objects.first() or shop_create(name="Main street shop", address="1 Main Street")


def _demo_campaign_create() -> None:
    """A segment of lapsed customers and a weekend double-points campaign in draft, for staff
    to look at and launch (created only when the organization has no campaign yet)."""
    if Campaign.objects.exists():
        return
    segment = Segment.objects.create(name="We miss you", match=Segment.Match.ALL)
    SegmentRule.objects.create(
        segment=segment, kind=SegmentRule.Kind.LAST_VISIT, comparison=SegmentRule.Comparison.AT_LEAST, days=30
    )
    SegmentRule.objects.create(segment=segment, kind=SegmentRule.Kind.MARKETING_CONSENT)
    campaign_create(
        actor=None,
        name="Double points weekend",
        description="Double points all weekend",
        starts_at=timezone.now(),
        recurrence_weekdays="5,6",
        actions=[{"kind": CampaignAction.Kind.POINTS_MULTIPLIER, "multiplier": Decimal("2")}],
    )


def demo_data_create(*, organization: Organization) -> DemoData:
    """The sample data (sample_data_create) plus the demo's published logins: a staff user
    and an API key, each created only when missing."""
    staff_email = f"staff@{organization.slug}.example"
    shop = sample_data_create(organization=organization)
    with tenant_context(organization), transaction.atomic():
        staff_password = None
        if not User.objects.filter(email__iexact=staff_email).exists():
            staff_user_create(email=staff_email, password=DEMO_STAFF_PASSWORD, name="Demo staff")
            staff_password = DEMO_STAFF_PASSWORD
        _demo_campaign_create()
    api_key = None
    if not organization.api_keys.filter(label="Demo POS", revoked_at__isnull=True).exists():
        api_key = api_key_create(organization=organization, label="Demo POS", shop_id=shop.pk).secret_key
    return DemoData(staff_email=staff_email, staff_password=staff_password, api_key=api_key)
