"""The profile's "Invite a friend" part on a 390 px phone: the link fits, the copy button
copies it, and a friend who opens it joins through the sign-up, with the referral recorded
when they open their sign-in link."""

import uuid

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from loyalty_platform.campaigns.models import Campaign, Referral
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.campaigns.triggers_fixtures import trigger_campaign
from tests.pos_fixtures import committed_organization, create_customer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-triggers"
PHONE = {"width": 390, "height": 844}


def test_a_customer_copies_their_link_and_a_friend_joins_through_it(chromium, server):
    organization, _ = committed_organization(SLUG, "Trigger Café")
    campaign = trigger_campaign(
        organization, Campaign.Trigger.REFERRAL, name=f"invite {uuid.uuid4().hex[:8]}"
    )
    try:
        referrer = create_customer(organization)
        with tenant_context(organization):
            sign_in = login_link_create(customer=referrer)
        context = chromium.new_context(viewport=PHONE, bypass_csp=True)
        context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=server.url(f"{SLUG}.localhost", "")
        )
        page = context.new_page()
        page.goto(server.url(f"{SLUG}.localhost", "/" + sign_in.split("/", 3)[3]))
        invite = page.get_by_role("region", name="Invite a friend")
        expect(invite).to_be_visible()
        link = page.get_by_label("Your invitation link").input_value()
        assert link.startswith(f"http://{SLUG}.localhost:{server.port}/r/")
        assert horizontal_overflow(page) == 0
        assert [line for line in axe_violations(page) if "#invite" in line] == []
        page.get_by_role("button", name="Copy link").click()
        expect(page.locator("#invite-status")).to_have_text("Link copied")
        context.close()

        friend = chromium.new_context(viewport=PHONE).new_page()
        friend.goto(link)
        expect(friend.get_by_role("heading", name="Join Trigger Café")).to_be_visible()
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        friend.get_by_label("Email").fill(email)
        friend.get_by_label("I accept the terms (required)").check()
        friend.get_by_label("I accept the privacy policy (required)").check()
        friend.get_by_role("button", name="Join and email me a sign-in link").click()
        expect(friend.get_by_role("heading", name="Check your email")).to_be_visible()
        with tenant_context(organization):
            joined = Customer.objects.get(email=email)
            assert not Referral.objects.filter(friend=joined).exists()  # not before the address is proved
            # The link the email carries, opened on the same phone.
            friend_sign_in = login_link_create(customer=joined)
        friend.goto(server.url(f"{SLUG}.localhost", "/" + friend_sign_in.split("/", 3)[3]))
        expect(friend.get_by_role("region", name="Invite a friend")).to_be_visible()
        friend.context.close()
        with tenant_context(organization):
            assert list(Referral.objects.filter(friend=joined).values_list("referrer_id", "status")) == [
                (referrer.pk, "enrolled")
            ]
    finally:
        with tenant_context(organization):
            campaign.status = Campaign.Status.ENDED
            campaign.save()
