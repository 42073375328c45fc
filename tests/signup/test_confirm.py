"""The link from the email: its page only shows what will be created; the POST creates the
organization once (owner, trial, country defaults, sample data only when asked) and hands
the owner over to the new portal, signed in."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts import roles
from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.celery import app as celery_app
from loyalty_platform.orders.models import EarningRule
from loyalty_platform.programs.models import Program
from loyalty_platform.rewards.models import Reward
from loyalty_platform.shops.models import Shop
from loyalty_platform.tiers.models import Tier
from tenants.models import ApiKey, Domain, Organization, PortalHandoff, SignupRequest, Subscription
from tenants.services import default_plan
from tenants.signup import signup_requests_purge
from tenants.tasks import purge_signup_requests
from tests.conftest import HostClient
from tests.signup.helpers import PASSWORD, post_resend, post_signup, token_from_last_email


def _pending(platform_client, **overrides) -> str:
    assert post_signup(platform_client, **overrides).status_code == 200
    return token_from_last_email()


def _tenant_counts(organization: Organization) -> dict:
    with tenant_context(organization):
        return {
            "staff": User.objects.count(),
            "programs": Program.objects.count(),
            "rewards": Reward.objects.count(),
            "shops": Shop.objects.count(),
            "tiers": Tier.objects.count(),
            "earning_rules": EarningRule.objects.count(),
        }


def test_opening_the_link_shows_the_button_and_creates_nothing(platform_client):
    token = _pending(platform_client)
    organizations = Organization.objects.count()

    response = platform_client.get(f"/signup/verify/{token}")

    assert response.status_code == 200
    assert b"Confirm and create my organization" in response.content
    assert b"cafe-luna.localhost:8000" in response.content
    assert Organization.objects.count() == organizations
    assert SignupRequest.objects.get().verified_at is None
    # Its form may redirect to the new organization's host (browsers check form-action there).
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["form-action"] == "'self' http://*.localhost:8000"


def test_confirming_creates_one_organization_with_its_owner_a_trial_and_the_country_defaults(platform_client):
    token = _pending(platform_client, timezone="Europe/Vilnius")
    organizations = Organization.objects.count()
    started = timezone.now()

    response = platform_client.post(f"/signup/verify/{token}")

    assert Organization.objects.count() == organizations + 1
    organization = Organization.objects.get(slug="cafe-luna")
    assert (organization.name, organization.country, organization.currency) == ("Café Luna", "LT", "EUR")
    assert (organization.timezone, organization.language, organization.status) == (
        "Europe/Vilnius",
        "lt",
        "active",
    )
    assert list(Domain.objects.filter(tenant=organization).values_list("domain", "is_primary")) == [
        ("cafe-luna.localhost", True)
    ]
    subscription = Subscription.objects.get(organization=organization)
    assert subscription.status == Subscription.Status.TRIALING
    trial = subscription.ends_at - started
    assert (
        timedelta(days=settings.SIGNUP_TRIAL_DAYS)
        <= trial
        < timedelta(days=settings.SIGNUP_TRIAL_DAYS, minutes=1)
    )
    # No sample data was asked for: the owner and nothing else.
    assert _tenant_counts(organization) == {
        "staff": 1,
        "programs": 0,
        "rewards": 0,
        "shops": 0,
        "tiers": 0,
        "earning_rules": 0,
    }
    assert ApiKey.objects.filter(organization=organization).count() == 0
    with tenant_context(organization):
        owner = User.objects.get()
        assert (owner.email, roles.role_of(owner), owner.is_superuser) == (
            "owner@luna.example",
            roles.OWNER,
            False,
        )
        assert owner.check_password(PASSWORD)
        assert AuditLogEntry.objects.filter(action="staff.create").count() == 1
    signup = SignupRequest.objects.get()
    assert signup.organization == organization and signup.verified_at is not None
    assert signup.password_hash == ""

    # The answer is the one-time handoff into the new portal, where the owner is signed in.
    assert response.status_code == 302
    handoff_prefix = "http://cafe-luna.localhost:8000/admin/handoff/"
    assert response["Location"].startswith(handoff_prefix)
    assert PortalHandoff.objects.get(organization=organization).purpose == PortalHandoff.Purpose.SIGNUP
    portal = HostClient(organization)
    landed = portal.get(response["Location"].removeprefix("http://cafe-luna.localhost:8000"))
    assert (landed.status_code, landed["Location"]) == (302, "/admin/")
    dashboard = portal.get("/admin/")
    assert dashboard.status_code == 200
    assert dashboard.wsgi_request.user.email == "owner@luna.example"

    # The same link again: a clear page, nothing new.
    again = platform_client.post(f"/signup/verify/{token}")
    assert again.status_code == 410
    assert b'data-code="signup_link_used"' in again.content
    assert b"http://cafe-luna.localhost:8000/admin/login/" in again.content
    assert platform_client.get(f"/signup/verify/{token}").status_code == 410
    assert Organization.objects.count() == organizations + 1
    assert _tenant_counts(organization)["staff"] == 1


def test_sample_data_is_added_only_when_asked_for_and_without_demo_logins(platform_client):
    token = _pending(platform_client, slug="sample-cafe", sample_data="on")

    assert platform_client.post(f"/signup/verify/{token}").status_code == 302

    organization = Organization.objects.get(slug="sample-cafe")
    assert _tenant_counts(organization) == {
        "staff": 1,
        "programs": 2,
        "rewards": 2,
        "shops": 1,
        "tiers": 2,
        "earning_rules": 2,
    }
    with tenant_context(organization):
        assert list(User.objects.values_list("email", flat=True)) == ["owner@luna.example"]
    assert ApiKey.objects.filter(organization=organization).count() == 0


def test_an_address_taken_meanwhile_gets_a_clear_page_and_another_address_can_be_chosen(
    platform_client, organization
):
    token = _pending(platform_client, slug="taken-later")
    # Someone else's custom domain takes the host name before the owner confirms.
    Domain.objects.create(domain="taken-later.localhost", tenant=organization, is_primary=False)
    organizations = Organization.objects.count()

    page = platform_client.get(f"/signup/verify/{token}")
    refused = platform_client.post(f"/signup/verify/{token}")
    reserved = platform_client.post(f"/signup/verify/{token}", {"slug": "admin"})

    assert page.status_code == refused.status_code == reserved.status_code == 409
    assert b'data-error="slug_taken"' in page.content and b'data-error="slug_taken"' in refused.content
    assert b'data-error="slug_reserved"' in reserved.content
    assert Organization.objects.count() == organizations
    assert SignupRequest.objects.get().verified_at is None

    chosen = platform_client.post(f"/signup/verify/{token}", {"slug": "Taken-Later-2"})

    assert chosen.status_code == 302
    assert chosen["Location"].startswith("http://taken-later-2.localhost:8000/admin/handoff/")
    assert Organization.objects.count() == organizations + 1
    assert SignupRequest.objects.get().slug == "taken-later-2"


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_or_altered_link_is_a_404_and_changes_nothing(platform_client, method):
    token = _pending(platform_client)
    organizations = Organization.objects.count()

    for wrong in ("nonsense", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 200):
        response = getattr(platform_client, method)(f"/signup/verify/{wrong}")
        assert response.status_code == 404
        assert b'data-code="signup_link_invalid"' in response.content
    assert Organization.objects.count() == organizations
    assert SignupRequest.objects.get().verified_at is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_is_a_410_and_changes_nothing(platform_client, method):
    token = _pending(platform_client)
    SignupRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    organizations = Organization.objects.count()

    response = getattr(platform_client, method)(f"/signup/verify/{token}")

    assert response.status_code == 410
    assert b'data-code="signup_link_expired"' in response.content
    assert Organization.objects.count() == organizations
    assert SignupRequest.objects.get().verified_at is None
    # Nor does it get a new link.
    resent = post_resend(platform_client, "owner@luna.example")
    assert resent.status_code == 200
    assert len(mail.outbox) == 1


def test_another_sign_ups_link_confirms_only_that_sign_up(platform_client):
    first = _pending(platform_client, slug="first-shop", email="one@first.example")
    _pending(platform_client, slug="second-shop", email="two@second.example")

    assert platform_client.post(f"/signup/verify/{first}").status_code == 302

    assert set(SignupRequest.objects.filter(verified_at__isnull=False).values_list("slug", flat=True)) == {
        "first-shop"
    }
    assert Organization.objects.filter(slug__in=["first-shop", "second-shop"]).count() == 1


def test_unconfirmed_sign_ups_are_purged_a_week_after_their_link_expired(platform_client):
    _pending(platform_client, slug="old-one", email="old@one.example")
    _pending(platform_client, slug="recent-one", email="recent@one.example")
    now = timezone.now()
    SignupRequest.objects.filter(slug="old-one").update(expires_at=now - timedelta(days=7, seconds=1))
    SignupRequest.objects.filter(slug="recent-one").update(expires_at=now - timedelta(days=6))

    assert signup_requests_purge(now=now) == 1

    assert list(SignupRequest.objects.values_list("slug", flat=True)) == ["recent-one"]


def test_beat_purges_expired_sign_ups_daily(platform_client):
    _pending(platform_client, slug="stale-one", email="stale@one.example")
    SignupRequest.objects.filter(slug="stale-one").update(expires_at=timezone.now() - timedelta(days=8))

    entry = celery_app.conf.beat_schedule["purge-signup-requests"]
    assert (entry["task"], entry["schedule"]) == ("tenants.tasks.purge_signup_requests", 24 * 3600.0)
    assert purge_signup_requests.name == entry["task"]
    assert purge_signup_requests.apply().get() == {"purged": 1}
    assert not SignupRequest.objects.filter(slug="stale-one").exists()


def test_a_default_plan_without_a_seat_for_the_owner_is_a_clear_409_that_creates_nothing(platform_client):
    token = _pending(platform_client, slug="seatless-shop", email="owner@seatless.example")
    plan = default_plan()
    plan.max_staff = 0
    plan.save(update_fields=["max_staff"])
    before = (Organization.objects.count(), Domain.objects.count(), Subscription.objects.count())

    response = platform_client.post(f"/signup/verify/{token}")

    assert response.status_code == 409
    assert "The platform cannot create new organizations at the moment." in response.content.decode()
    assert (Organization.objects.count(), Domain.objects.count(), Subscription.objects.count()) == before
    assert SignupRequest.objects.get(slug="seatless-shop").verified_at is None
