"""The portal and members without an email (docs/decisions/0052): the organization's setting
that allows joining by phone, and the customer page of a member known by their phone."""

from django_tenants.utils import tenant_context

from loyalty_platform.customers.models import Customer
from tenants.models import Organization
from tests.factories import StaffUserFactory
from tests.pos_fixtures import create_customer

SETTINGS = {
    "name": "Test Org A",
    "verification_preset": "standard",
    "pin_length": 4,
    "brand_color": "#123456",
    "rate_limits": "{}",
}


def staff_login(client, organization):
    with tenant_context(organization):
        StaffUserFactory(email="owner@example.com")
    assert client.login(email="owner@example.com", password="correct horse battery")


def test_staff_allow_joining_by_phone_and_the_api_follows(organization, programs, client_a, pos):
    staff_login(client_a, organization)
    page = client_a.get(f"/admin/tenants/organization/{organization.pk}/change/").content.decode()
    assert 'name="phone_enrollment"' in page
    assert pos.post("/webhook/customer", {"phone": "+37061234567"}).json() == {"error": "email_required"}

    response = client_a.post(
        f"/admin/tenants/organization/{organization.pk}/change/", {**SETTINGS, "phone_enrollment": "on"}
    )

    assert response.status_code == 302
    assert Organization.objects.get(pk=organization.pk).phone_enrollment is True
    enrolled = pos.post("/webhook/customer", {"phone": "+37061234567"})
    assert (enrolled.status_code, enrolled.json()["data"]["status"]) == (200, "pending")


def test_joining_by_phone_cannot_be_allowed_without_an_sms_sender(organization, client_a, settings):
    settings.SMS_BACKEND = ""
    staff_login(client_a, organization)

    response = client_a.post(
        f"/admin/tenants/organization/{organization.pk}/change/", {**SETTINGS, "phone_enrollment": "on"}
    )

    assert response.status_code == 200
    assert "The platform has no SMS sender yet" in response.content.decode()
    assert Organization.objects.get(pk=organization.pk).phone_enrollment is False


def test_the_other_organizations_setting_is_out_of_reach(organization, other_organization, client_a):
    staff_login(client_a, organization)

    response = client_a.post(
        f"/admin/tenants/organization/{other_organization.pk}/change/", {**SETTINGS, "phone_enrollment": "on"}
    )

    assert response.status_code == 302  # "doesn't exist"
    assert Organization.objects.get(pk=other_organization.pk).phone_enrollment is False


def _phone_member(organization, phone: str) -> Customer:
    with tenant_context(organization):
        return Customer.objects.create(
            customer_code=234567 if phone.endswith("7") else 234568,
            phone=phone,
            status="active",
            consent_terms_at="2026-01-01T00:00:00Z",
            consent_privacy_at="2026-01-01T00:00:00Z",
        )


def test_a_member_without_an_email_keeps_a_phone_of_their_own(organization, client_a):
    staff_login(client_a, organization)
    member = _phone_member(organization, "+37061234567")
    _phone_member(organization, "+37061234568")
    url = f"/admin/customers/customer/{member.pk}/change/"
    assert "+37061234567" in client_a.get(url).content.decode()

    emptied = client_a.post(url, {"name": "Ona", "phone": ""})
    taken = client_a.post(url, {"name": "Ona", "phone": "+370 612 34568"})

    assert emptied.status_code == 200
    assert "it cannot be removed" in emptied.content.decode()
    assert taken.status_code == 200
    assert "Another member without an email has this phone number" in taken.content.decode()
    with tenant_context(organization):
        assert Customer.objects.filter(pk=member.pk).values_list("name", "phone").get() == (
            "",
            "+37061234567",
        )
    changed = client_a.post(url, {"name": "Ona", "phone": "+370 612 34569"})
    assert changed.status_code == 302
    with tenant_context(organization):
        assert Customer.objects.filter(pk=member.pk).values_list("name", "phone").get() == (
            "Ona",
            "+37061234569",
        )


def test_a_member_with_an_email_may_share_a_phone_or_have_none(organization, client_a):
    staff_login(client_a, organization)
    _phone_member(organization, "+37061234567")
    customer = create_customer(organization, email="ona@example.com")
    url = f"/admin/customers/customer/{customer.pk}/change/"

    assert client_a.post(url, {"name": "", "phone": "+37061234567"}).status_code == 302
    assert client_a.post(url, {"name": "", "phone": ""}).status_code == 302


def test_the_customer_list_and_search_show_a_member_without_an_email(organization, client_a):
    staff_login(client_a, organization)
    member = _phone_member(organization, "+37061234567")

    listing = client_a.get("/admin/customers/customer/", {"q": "+37061234567"}).content.decode()

    assert str(member.customer_code) in listing
    assert client_a.get("/admin/customers/customer/export.csv").status_code == 200
