"""Referrals end to end: the customer's link on the profile, the friend's landing and sign-up,
the first purchase that rewards both once; and every refusal, which records nothing."""

import re

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.models import Campaign, Referral, ReferralLink
from loyalty_platform.campaigns.referral_views import SESSION_KEY
from loyalty_platform.campaigns.referrals import referral_link_for, referral_record
from loyalty_platform.campaigns.triggers import referral_run_key, trigger_referral
from loyalty_platform.customers.models import Customer
from tests.campaigns.triggers_fixtures import eager_tasks, earn, grants_of, points_of, trigger_campaign  # noqa: F401
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer, refused

pytestmark = pytest.mark.usefixtures("eager_tasks")

LINK = re.compile(r'id="invite-link" type="text" value="(http://test-a\.localhost/r/([A-Za-z0-9_-]+)/)"')


def sign_up(client: HostClient, email: str):
    return client.post("/me/signup", {"email": email, "consent_terms": "on", "consent_privacy": "on"})


def open_sign_in_link(client: HostClient, mailoutbox) -> None:
    url = re.search(r"http://\S+(/me/login/\S+)", mailoutbox[-1].body).group(1)
    assert client.get(url).status_code == 302


def referrals(organization) -> list[tuple[int, int, str]]:
    with tenant_context(organization):
        return list(Referral.objects.order_by("created_at").values_list("referrer_id", "friend_id", "status"))


def link_code(organization, customer) -> str:
    with tenant_context(organization):
        return referral_link_for(customer=customer).code


@pytest.fixture
def referral_campaign(organization, programs) -> Campaign:
    return trigger_campaign(organization, Campaign.Trigger.REFERRAL, points=100)


@pytest.fixture
def anna(organization, programs) -> Customer:
    return create_customer(organization, email="anna@example.com")


def test_link_join_first_purchase_rewards_both_once(
    organization, referral_campaign, anna, mailoutbox, django_capture_on_commit_callbacks
):
    page = signed_in(organization, anna).get("/me/").content.decode()
    assert "Invite a friend" in page and "Copy link" in page
    url, code = LINK.search(page).groups()
    assert len(code) == 16 and url == f"http://test-a.localhost/r/{code}/"

    friend_client = HostClient(organization)
    landing = friend_client.get(f"/r/{code}/")
    assert (landing.status_code, landing["Location"]) == (302, "/me/signup")
    assert sign_up(friend_client, "ben@example.com").status_code == 200
    with tenant_context(organization):
        ben = Customer.objects.get(email="ben@example.com")
    # Recorded once ben shows the address is his: the sign-in link, opened in this session.
    assert referrals(organization) == []
    open_sign_in_link(friend_client, mailoutbox)
    assert referrals(organization) == [(anna.pk, ben.pk, "enrolled")]
    assert grants_of(organization, referral_campaign) == []  # enrolling alone earns nothing

    earn(organization, ben, "7", "ben-1", django_capture_on_commit_callbacks)
    with tenant_context(organization):
        key = referral_run_key(Referral.objects.get(friend=ben))
    assert referrals(organization) == [(anna.pk, ben.pk, "rewarded")]
    assert grants_of(organization, referral_campaign) == sorted(
        [(key, anna.pk, 100), (key, ben.pk, 100)], key=lambda grant: grant[1]
    )
    assert (points_of(organization, anna), points_of(organization, ben)) == (100, 107)

    # The second purchase grants nothing; nor does the first one's task delivered again.
    earn(organization, ben, "3", "ben-2", django_capture_on_commit_callbacks)
    with tenant_context(organization):
        assert trigger_referral(customer_id=ben.pk) == 0
    assert (points_of(organization, anna), points_of(organization, ben)) == (100, 110)
    assert len(grants_of(organization, referral_campaign)) == 2


def test_a_referrer_is_rewarded_once_for_each_friend(
    organization, referral_campaign, anna, mailoutbox, django_capture_on_commit_callbacks
):
    code = link_code(organization, anna)
    for email in ("f1@example.com", "f2@example.com"):
        client = HostClient(organization)
        client.get(f"/r/{code}/")
        sign_up(client, email)
        open_sign_in_link(client, mailoutbox)
        with tenant_context(organization):
            friend = Customer.objects.get(email=email)
        earn(organization, friend, "1", f"{email}-buy", django_capture_on_commit_callbacks)
    assert points_of(organization, anna) == 200
    assert [status for _, _, status in referrals(organization)] == ["rewarded", "rewarded"]


def test_a_sign_up_whose_link_is_never_opened_here_refers_nobody(
    organization, referral_campaign, anna, mailoutbox
):
    """The referral used to be recorded at sign-up: any made-up address referred someone."""
    code = link_code(organization, anna)
    client = HostClient(organization)
    client.get(f"/r/{code}/")
    assert sign_up(client, "nobody-reads-this@example.com").status_code == 200
    assert referrals(organization) == []
    # Opened in another browser (no referral in its session): still nobody.
    open_sign_in_link(HostClient(organization), mailoutbox)
    assert referrals(organization) == []
    # Another member's sign-in in the first session does not take the pending referral.
    create_customer(organization, email="carol@example.com")
    client.post("/me/login", {"email": "carol@example.com"})
    open_sign_in_link(client, mailoutbox)
    assert referrals(organization) == []


def test_self_referral_is_refused_and_records_nothing(organization, referral_campaign, anna, mailoutbox):
    code = link_code(organization, anna)
    client = HostClient(organization)
    client.get(f"/r/{code}/")
    response = sign_up(client, "ANNA@example.com")
    # The same answer as any sign-up: it tells nobody whether the address is a member.
    assert response.status_code == 200 and "We sent you a sign-in link" in response.content.decode()
    assert referrals(organization) == []
    with tenant_context(organization), refused("referral_self"):
        referral_record(code=code, friend=anna, friend_is_new=True)
    assert referrals(organization) == []


def test_a_friend_already_a_member_is_refused(organization, referral_campaign, anna, mailoutbox):
    member = create_customer(organization, email="member@example.com")
    code = link_code(organization, anna)
    client = HostClient(organization)
    client.get(f"/r/{code}/")
    assert sign_up(client, "member@example.com").status_code == 200
    assert referrals(organization) == []
    with tenant_context(organization), refused("referral_friend_taken"):
        referral_record(code=code, friend=member, friend_is_new=False)
    assert referrals(organization) == []


def test_a_second_referral_of_the_same_friend_is_refused(organization, referral_campaign, anna):
    carl = create_customer(organization, email="carl@example.com")
    friend = create_customer(organization, email="dora@example.com")
    with tenant_context(organization):
        referral_record(code=referral_link_for(customer=anna).code, friend=friend, friend_is_new=True)
        with refused("referral_friend_taken"):
            referral_record(code=referral_link_for(customer=carl).code, friend=friend, friend_is_new=True)
    assert referrals(organization) == [(anna.pk, friend.pk, "enrolled")]


def test_the_second_reward_for_the_same_friend_is_refused(organization, referral_campaign, anna):
    friend = create_customer(organization, email="eve@example.com")
    with tenant_context(organization):
        referral_record(code=referral_link_for(customer=anna).code, friend=friend, friend_is_new=True)
        assert trigger_referral(customer_id=friend.pk) == 2
        assert trigger_referral(customer_id=friend.pk) == 0
    assert (points_of(organization, anna), points_of(organization, friend)) == (100, 100)


def test_a_link_of_another_organization_finds_nothing(
    organization, other_organization, referral_campaign, anna, mailoutbox
):
    code = link_code(organization, anna)
    client = HostClient(other_organization)
    response = client.get(f"/r/{code}/")
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()
    assert SESSION_KEY not in client.session
    with tenant_context(other_organization):
        with refused("referral_not_found"):
            referral_record(code=code, friend=Customer(pk=anna.pk), friend_is_new=True)
        assert Referral.objects.count() == 0


@pytest.mark.parametrize("code", ["unknown0000000000", "x" * 300, "a%20b", "%C3%A9"])
def test_an_unknown_code_is_a_404_page(organization, referral_campaign, code):
    response = HostClient(organization).get(f"/r/{code}/")
    assert response.status_code == 404
    assert referrals(organization) == []


def test_without_a_referral_campaign_the_profile_shows_no_invitation_and_makes_no_link(organization, anna):
    trigger_campaign(organization, Campaign.Trigger.WELCOME)
    page = signed_in(organization, anna).get("/me/").content.decode()
    assert "Invite a friend" not in page and "invite-link" not in page
    with tenant_context(organization):
        assert ReferralLink.objects.count() == 0


def test_the_link_is_made_once(organization, referral_campaign, anna):
    client = signed_in(organization, anna)
    first = LINK.search(client.get("/me/").content.decode()).group(1)
    assert LINK.search(client.get("/me/").content.decode()).group(1) == first
    with tenant_context(organization):
        assert ReferralLink.objects.filter(customer=anna).count() == 1


def test_staff_see_referrals_read_only(organization, client_a, referral_campaign, anna):
    friend = create_customer(organization, email="fay@example.com")
    with tenant_context(organization):
        referral = referral_record(
            code=referral_link_for(customer=anna).code, friend=friend, friend_is_new=True
        )
        user = StaffUserFactory()
    assert client_a.login(email=user.email, password="correct horse battery")
    listing = client_a.get("/admin/campaigns/referral/")
    assert listing.status_code == 200 and "fay@example.com" in listing.content.decode()
    assert client_a.get("/admin/campaigns/referral/add/").status_code == 403
    assert (
        client_a.post(f"/admin/campaigns/referral/{referral.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert referrals(organization) == [(anna.pk, friend.pk, "enrolled")]
