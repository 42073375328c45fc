"""organization_open is all or nothing: an owner who cannot be invited leaves no organization
without its owner behind."""

import pytest

from loyalty_platform.accounts.services import StaffError
from tenants.lifecycle import organization_open
from tenants.models import Domain, Organization, Subscription
from tenants.services import default_plan

pytestmark = pytest.mark.django_db


def test_an_owner_who_cannot_be_invited_leaves_no_organization():
    before = (Organization.objects.count(), Domain.objects.count(), Subscription.objects.count())
    with pytest.raises(StaffError):
        organization_open(
            slug="no-owner",
            name="No Owner",
            country="LT",
            plan=default_plan(),
            owner_email="not-an-email",
            operator=None,
        )
    assert (Organization.objects.count(), Domain.objects.count(), Subscription.objects.count()) == before
    assert not Organization.objects.filter(slug="no-owner").exists()
