"""Tier forms: a ladder of unique names and thresholds whose multipliers never fall."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from loyalty_platform.tiers.models import Tier
from tests.admin_portal.test_merchant_admin import staff_login


def tier_form(**changes) -> dict:
    return {
        "name": "Silver",
        "threshold_points": "100",
        "points_multiplier": "1.5",
        "description": "",
        **changes,
    }


def test_duplicate_tier_names_and_thresholds_and_a_falling_ladder_are_refused(organization, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        Tier.objects.create(name="Silver", threshold_points=100, points_multiplier=Decimal("1.5"))
        Tier.objects.create(name="Gold", threshold_points=500, points_multiplier=Decimal("2"))

    both = client_a.post("/admin/tiers/tier/add/", tier_form(name="silver "))
    falling = client_a.post(
        "/admin/tiers/tier/add/", tier_form(name="Bronze", threshold_points="300", points_multiplier="1.2")
    )
    above_gold = client_a.post(
        "/admin/tiers/tier/add/", tier_form(name="Platinum", threshold_points="900", points_multiplier="1.8")
    )

    assert [r.status_code for r in (both, falling, above_gold)] == [200, 200, 200]
    page = both.content.decode()
    assert "Another tier is called “silver”." in page
    assert "Another tier starts at 100 points" in page
    assert "already exists" not in page
    assert "a higher tier cannot earn less than a lower one" in falling.content.decode()
    assert "“Silver” (from 100 points) has a multiplier of 1.50" in falling.content.decode()
    assert "“Gold” (from 500 points)" in above_gold.content.decode()
    with tenant_context(organization):
        assert list(Tier.objects.values_list("name", flat=True)) == ["Silver", "Gold"]
        done = client_a.post(
            "/admin/tiers/tier/add/", tier_form(name="Bronze", threshold_points="50", points_multiplier="1.2")
        )
        assert done.status_code == 302
        assert list(Tier.objects.values_list("name", flat=True)) == ["Bronze", "Silver", "Gold"]


def test_the_database_refuses_a_tier_name_twice_in_any_case(in_organization):
    Tier.objects.create(name="Silver", threshold_points=100)

    with transaction.atomic(), pytest.raises(IntegrityError):
        Tier.objects.create(name="SILVER", threshold_points=200)

    assert Tier.objects.count() == 1
