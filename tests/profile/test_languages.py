"""The language of people's pages: the customer's choice, the browser's, the organization's."""

import re

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.models import Customer
from tests.conftest import HostClient
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer


def page_language(response) -> tuple[str, str]:
    """The page's <html lang> and its Content-Language header."""
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1), response[
        "Content-Language"
    ]


@pytest.fixture
def lithuanian_organization(organization):
    organization.language = "lt"
    organization.save(update_fields=["language"])
    return organization


def test_the_browser_chooses_among_ours_else_the_organizations_language(lithuanian_organization):
    client = HostClient(lithuanian_organization)
    cases = [
        ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
        ("no;q=0.9", "nb"),  # "no" is bokmål here
        ("de-DE,fr;q=0.8", "lt"),  # none of ours: the organization's
        ("", "lt"),
        ("en-GB,lt;q=0.5", "en"),
    ]
    for header, expected in cases:
        response = client.get("/me/login", headers={"Accept-Language": header})
        assert page_language(response) == (expected, expected), header
        assert "Accept-Language" in response["Vary"]


def test_choosing_a_language_keeps_it_for_the_pages_and_the_customer(organization, programs):
    customer = create_customer(organization)
    client = signed_in(organization, customer)

    response = client.post("/me/language", {"language": "nb", "next": "/me/#history-title"})

    assert (response.status_code, response["Location"]) == (302, "/me/#history-title")
    assert response.cookies["django_language"].value == "nb"
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).language == "nb"
    # The choice beats the browser's.
    page = client.get("/me/", headers={"Accept-Language": "nl"})
    assert page_language(page) == ("nb", "nb")
    text = page.content.decode()
    assert '<option value="nb" lang="nb" selected>Norsk bokmål</option>' in text
    assert '<label for="language-choice">Språk</label>' in text
    assert '<h2 id="history-title">Historikk</h2>' in text


def test_a_signed_in_customers_saved_language_follows_them_to_a_new_browser(organization, programs):
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(language="lt")
        customer.refresh_from_db()
        link = login_link_create(customer=customer)
    client = HostClient(organization)

    client.get("/" + link.split("/", 3)[3], headers={"Accept-Language": "en"})

    assert page_language(client.get("/me/", headers={"Accept-Language": "en"})) == ("lt", "lt")


def test_without_signing_in_the_choice_is_the_cookie_only(organization):
    client = HostClient(organization)
    response = client.post("/me/language", {"language": "nl", "next": "/me/login"})
    assert (response.status_code, response["Location"]) == (302, "/me/login")
    assert page_language(client.get("/me/login")) == ("nl", "nl")


def test_a_language_we_do_not_have_or_a_foreign_next_changes_nothing(organization, programs):
    customer = create_customer(organization)
    client = signed_in(organization, customer)

    for value in ("de", "", "nb-NO", "x" * 500):
        refused = client.post("/me/language", {"language": value})
        assert refused.status_code == 422, value
        assert "django_language" not in refused.cookies
    offsite = client.post("/me/language", {"language": "nl", "next": "https://evil.example/"})
    assert offsite["Location"] == "/me/"
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).language == "nl"


def test_another_organizations_host_does_not_change_this_customer(organization, other_organization, programs):
    customer = create_customer(organization)
    create_customer(other_organization)
    session = signed_in(organization, customer).cookies["sessionid"].value
    other_host = HostClient(other_organization)
    other_host.cookies["sessionid"] = session

    assert other_host.post("/me/language", {"language": "lt"}).status_code == 302
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).language == ""
    with tenant_context(other_organization):
        assert not Customer.objects.filter(language="lt").exists()
