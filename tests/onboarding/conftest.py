"""Two organizations of this package's own. The session's test-a and test-b collect committed
rows from browser and end-to-end tests (staff, programs, ledger earns), and the checklist's
steps read exactly such rows, so its tests start from organizations nothing else touches.
They are created once (committed); each test's own changes roll back as usual."""

import pytest

from tenants.models import Organization
from tenants.services import organization_create

ORGANIZATIONS = (("onboard-a", "Onboard Café A"), ("onboard-b", "Onboard Café B"))


@pytest.fixture(scope="package")
def fresh_organizations(django_db_setup, django_db_blocker) -> tuple[Organization, Organization]:
    with django_db_blocker.unblock():
        return tuple(
            Organization.objects.filter(slug=slug).first() or organization_create(slug=slug, name=name)
            for slug, name in ORGANIZATIONS
        )


@pytest.fixture
def organization(db, fresh_organizations) -> Organization:
    return fresh_organizations[0]


@pytest.fixture
def other_organization(db, fresh_organizations) -> Organization:
    return fresh_organizations[1]
