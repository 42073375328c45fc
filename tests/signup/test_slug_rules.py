"""The rules of an organization's address, in one place (tenants.services._validate_slug):
sign-up and the operator's organization_create refuse the same slugs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Domain, OperatorAction, Organization
from tenants.services import OrganizationError, _validate_slug, organization_create
from tenants.signup import slug_problem


@pytest.mark.parametrize(
    ("slug", "problem"),
    [
        ("", "slug_required"),
        ("ab", "slug_too_short"),
        ("a" * 41, "slug_too_long"),
        ("a" * 40, None),
        ("abc", None),
        ("cafe-luna-2", None),
        ("Cafe", "slug_invalid"),  # callers lower-case first; the rule itself is strict
        ("café", "slug_invalid"),
        ("cafe_luna", "slug_invalid"),
        ("cafe--luna", "slug_invalid"),
        ("-cafe", "slug_invalid"),
        ("cafe-", "slug_invalid"),
        ("cafe.luna", "slug_invalid"),
        ("cafe luna", "slug_invalid"),
        ("caf\x00e", "slug_invalid"),
        *[
            (word, "slug_reserved")
            for word in (
                "www",
                "api",
                "admin",
                "mail",
                "support",
                "signup",
                "status",
                "billing",
                "help",
                "static",
                "media",
            )
        ],
        ("test-a", "slug_taken"),  # an organization's slug
    ],
)
def test_slug_rules_of_sign_up(db, slug, problem):
    assert slug_problem(slug) == problem


def test_a_slug_whose_host_is_any_organizations_custom_domain_is_taken(organization):
    Domain.objects.create(domain="luna.localhost", tenant=organization, is_primary=False)

    assert slug_problem("luna") == "slug_taken"
    with pytest.raises(OrganizationError) as refused:
        organization_create(slug="luna", name="Luna")
    assert refused.value.code == "slug_taken"
    assert not Organization.objects.filter(slug="luna").exists()


def test_a_host_the_platform_serves_itself_is_reserved(db, settings):
    settings.PLATFORM_EXTRA_HOSTNAMES = ["shop.localhost"]

    assert slug_problem("shop") == "slug_reserved"


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("admin", "slug_reserved"),
        ("test-b", "slug_taken"),
        ("a_b", "slug_invalid"),
        ("x" * 41, "slug_too_long"),
    ],
)
def test_the_operators_organization_create_refuses_the_same_slugs(db, slug, code):
    before = Organization.objects.count()

    with pytest.raises(OrganizationError) as refused:
        organization_create(slug=slug, name="Someone")

    assert refused.value.code == code
    assert Organization.objects.count() == before


def test_operators_may_still_give_short_slugs_sign_up_may_not(db):
    assert slug_problem("ab") == "slug_too_short"
    # organization_create's default minimum is 1: the check passes up to the clone.
    with pytest.raises(OrganizationError) as refused:
        organization_create(slug="ab", name="Short", slug_min_length=3)
    assert refused.value.code == "slug_too_short"


def test_a_purged_organizations_slug_comes_free_only_after_redis_forgot_it(db):
    """Its schema name returns with the slug; usage counters and caches under it live 8 days."""
    purge = OperatorAction.objects.create(action="purge", organization_slug="gone-cafe")
    with pytest.raises(OrganizationError) as refused:
        _validate_slug("gone-cafe")
    assert refused.value.code == "slug_taken"

    OperatorAction.objects.filter(pk=purge.pk).update(
        created_at=timezone.now() - timedelta(days=8, minutes=1)
    )
    _validate_slug("gone-cafe")
