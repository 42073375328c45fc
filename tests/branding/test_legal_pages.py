"""The organization's terms and privacy pages (docs/decisions/0056): versions staff publish in
the portal (kept, never changed), the public /terms and /privacy on the organization's host
(the latest version, the platform's translated default before any, staff text escaped), who
may publish, and the links from sign-up, finishing joining and the profile's footer."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import trans_real
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.roles import CASHIER, DEVELOPER, MANAGER, MARKETING, OWNER
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.branding.legal import default_terms
from loyalty_platform.branding.models import ContactEmail, LegalVersion
from loyalty_platform.branding.selectors import legal_page
from loyalty_platform.branding.services import contact_email_set, legal_version_publish
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.joining import join_link_create
from loyalty_platform.identification.models import Invitation
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer, refused

ADD = "/admin/branding/legalversion/add/"
LIST = "/admin/branding/legalversion/"
CONTACT_ADD = "/admin/branding/contactemail/add/"


def staff(client, organization, role=OWNER):
    with tenant_context(organization):
        user = StaffUserFactory(role=role)
    assert client.login(email=user.email, password="correct horse battery")
    return user


def versions(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(LegalVersion.objects.order_by("pk").values_list("kind", "body", "published_by__email"))


def legal_audit(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(
            AuditLogEntry.objects.filter(action__in=["legal_publish", "contact_email_set"])
            .order_by("pk")
            .values_list("action", "details")
        )


def text_of(html: str) -> str:
    """The page's legal text block as its HTML."""
    return re.search(r'<div class="legal-text">(.*?)</div>', html, re.S).group(1)


# --- The service --------------------------------------------------------------------------------


def test_publishing_keeps_every_version_and_the_newest_is_the_page(organization):
    with tenant_context(organization):
        user = StaffUserFactory()
        body = "First terms.\r\n\r\nSecond paragraph.  "
        first = legal_version_publish(kind="terms", body=body, actor=user)
        second = legal_version_publish(kind="terms", body="Changed terms.", actor=user)
        privacy = legal_version_publish(kind="privacy", body="Our privacy.", actor=user)
        current = legal_page("terms")
        earlier = legal_page("terms", version_id=first.pk)
        missing = legal_page("terms", version_id=privacy.pk)

    assert versions(organization) == [
        ("terms", "First terms.\n\nSecond paragraph.", user.email),
        ("terms", "Changed terms.", user.email),
        ("privacy", "Our privacy.", user.email),
    ]
    assert (current.version, current.body, current.is_default) == (second, "Changed terms.", False)
    assert (earlier.version, earlier.html) == (first, "<p>First terms.</p>\n\n<p>Second paragraph.</p>")
    assert missing is None  # a privacy version is no version of the terms
    assert legal_audit(organization) == [
        ("legal_publish", {"kind": "terms", "characters": 31}),
        ("legal_publish", {"kind": "terms", "characters": 14}),
        ("legal_publish", {"kind": "privacy", "characters": 12}),
    ]


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("terms", "  \n\n ", "body_required"),
        ("terms", "Text with a \x07 bell", "body_invalid"),
        ("terms", "x" * 50_001, "body_invalid"),
        ("imprint", "Some text", "kind_invalid"),
        ("terms", "Same text.", "legal_text_unchanged"),
    ],
    ids=["empty", "control-character", "too-long", "unknown-kind", "unchanged"],
)
def test_a_refused_text_publishes_nothing(organization, kind, body, code):
    with tenant_context(organization):
        user = StaffUserFactory()
        legal_version_publish(kind="terms", body="Same text.", actor=user)
    before = (versions(organization), legal_audit(organization))

    with tenant_context(organization), refused(code):
        legal_version_publish(kind=kind, body=body, actor=user)

    assert (versions(organization), legal_audit(organization)) == before


def test_the_contact_email_is_set_changed_and_removed_with_an_audit_row_each(organization):
    with tenant_context(organization):
        user = StaffUserFactory()
        contact_email_set(email=" help@bakery.example ", actor=user)
        contact_email_set(email="privacy@bakery.example", actor=user)
        with refused("invalid_email"):
            contact_email_set(email="not an address", actor=user)
        assert list(ContactEmail.objects.values_list("email", flat=True)) == ["privacy@bakery.example"]
        assert contact_email_set(email="", actor=user) is None
        assert ContactEmail.objects.count() == 0
        targets = list(
            AuditLogEntry.objects.filter(action="contact_email_set").values_list("target_id", flat=True)
        )
    assert [details for _, details in legal_audit(organization)] == [
        {"changes": {"email": ["", "help@bakery.example"]}},
        {"changes": {"email": ["help@bakery.example", "privacy@bakery.example"]}},
        {"changes": {"email": ["privacy@bakery.example", ""]}},
    ]
    assert "None" not in targets and len(set(targets)) == 1


# --- The public pages ---------------------------------------------------------------------------


def test_before_any_version_the_pages_show_the_platforms_default(client_a, organization):
    with tenant_context(organization):
        contact_email_set(email="help@a.example", actor=None)

    terms = client_a.get("/terms")
    privacy = client_a.get("/privacy")

    assert (terms.status_code, privacy.status_code) == (200, 200)
    page = terms.content.decode()
    assert '<p class="legal-version" data-version="default">' in page
    assert "Test Org A has not published its own yet." in page
    assert text_of(page).startswith(
        "<p>These are the terms of the loyalty program of Test Org A. By joining you accept them.</p>"
    )
    assert "Money left on your account has to be spent or refunded first." in text_of(page)
    privacy_text = text_of(privacy.content.decode())
    assert "<p>Test Org A is responsible for your personal data in its loyalty program.</p>" in privacy_text
    assert privacy_text.endswith(
        '<p>Questions about your data: <a href="mailto:help@a.example">help@a.example</a></p>'
    )


def test_the_default_text_is_in_the_pages_language(client_a, organization, monkeypatch):
    """The default is translated when the page is asked for, in the visitor's language (the
    catalogs get these texts when the lead regenerates them: one is given here)."""
    msgid = "These are the terms of the loyalty program of %(organization)s. By joining you accept them."
    # The Dutch catalog's first dictionary, given the one entry for this test (put back after).
    catalog = trans_real.translation("nl")._catalog._catalogs[0]
    dutch_msgstr = "Dit zijn de voorwaarden van het spaarprogramma van %(organization)s."
    monkeypatch.setitem(catalog, msgid, dutch_msgstr)
    page = client_a.get("/terms", headers={"accept-language": "nl"}).content.decode()
    with translation.override("nl"), tenant_context(organization):
        dutch = default_terms(organization="Test Org A")

    assert '<html lang="nl">' in page
    assert '<h1 id="legal-title">Voorwaarden</h1>' in page
    assert text_of(page).startswith("<p>Dit zijn de voorwaarden van het spaarprogramma van Test Org A.</p>")
    assert dutch.startswith("Dit zijn de voorwaarden van het spaarprogramma van Test Org A.\n\n")


def test_the_page_shows_the_latest_version_and_lists_the_earlier_ones(client_a, organization):
    with tenant_context(organization):
        first = legal_version_publish(kind="terms", body="Old terms.", actor=None)
        latest = legal_version_publish(kind="terms", body="New terms.\nSecond line.", actor=None)

    page = client_a.get("/terms").content.decode()
    old = client_a.get("/terms", {"version": first.pk}).content.decode()

    assert f'data-version="{latest.pk}"' in page
    assert text_of(page) == "<p>New terms.<br>Second line.</p>"
    assert f'<a href="/terms?version={first.pk}">' in page
    assert text_of(old) == "<p>Old terms.</p>"
    assert '<a href="/terms">Read the current version</a>' in old


@pytest.mark.parametrize("version", ["abc", "-1", "99999999", "1" * 19, "\uff11"])
def test_an_unknown_version_is_not_found(client_a, organization, version):
    with tenant_context(organization):
        legal_version_publish(kind="terms", body="Terms.", actor=None)

    assert client_a.get("/terms", {"version": version}).status_code == 404


def test_only_reading_is_allowed_on_the_pages(client_a):
    assert client_a.post("/terms").status_code == 405


def test_html_staff_type_is_shown_as_text_never_run(client_a, organization):
    body = (
        '<script>alert("x")</script> <img src=x onerror=alert(1)>\n\n'
        "Read https://bakery.example/rules or write to rules@bakery.example.\n\n"
        'javascript:alert(1) "quoted" & more'
    )
    with tenant_context(organization):
        legal_version_publish(kind="privacy", body=body, actor=None)

    text = text_of(client_a.get("/privacy").content.decode())

    assert text == (
        "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;</p>\n\n"
        '<p>Read <a href="https://bakery.example/rules" rel="nofollow">https://bakery.example/rules</a> '
        'or write to <a href="mailto:rules@bakery.example">rules@bakery.example</a>.</p>\n\n'
        "<p>javascript:alert(1) &quot;quoted&quot; &amp; more</p>"
    )
    assert "<script" not in text and "<img" not in text


def test_each_organization_shows_its_own_texts_on_its_own_host(
    client_a, client_b, organization, other_organization
):
    with tenant_context(organization):
        mine = legal_version_publish(kind="terms", body="Terms of A.", actor=None)
    with tenant_context(other_organization):
        theirs = legal_version_publish(kind="terms", body="Terms of B.", actor=None)

    assert text_of(client_a.get("/terms").content.decode()) == "<p>Terms of A.</p>"
    assert text_of(client_b.get("/terms").content.decode()) == "<p>Terms of B.</p>"
    # A's version id asked on B's host: B has no such version of its own, or shows its own.
    asked = client_b.get("/terms", {"version": mine.pk})
    assert asked.status_code == 404 or text_of(asked.content.decode()) == "<p>Terms of B.</p>"
    assert "Terms of A." not in client_b.get("/terms", {"version": theirs.pk}).content.decode()
    # B's privacy page is still the default, with B's name.
    assert "Test Org B has not published its own yet." in client_b.get("/privacy").content.decode()


# --- Links --------------------------------------------------------------------------------------

READ_LINKS = (
    '<a href="/terms" target="_blank" rel="noopener">Read the terms</a>',
    '<a href="/privacy" target="_blank" rel="noopener">Read the privacy policy</a>',
)
FOOTER = '<p class="legal-links"><a href="/terms">Terms</a> · <a href="/privacy">Privacy policy</a></p>'


def test_signup_and_finishing_joining_link_both_pages(client_a, organization, programs):
    organization.phone_enrollment = True
    organization.save(update_fields=["phone_enrollment"])
    with tenant_context(organization):
        customer = Customer.objects.create(customer_code=990001, phone="+37061234000", status="pending")
        invitation = Invitation.objects.create(
            customer=customer, phone="+37061234000", expires_at=timezone.now() + timedelta(days=1)
        )
        link = join_link_create(invitation=invitation)

    signup = client_a.get("/me/signup").content.decode()
    finish = HostClient(organization).get("/" + link.split("/", 3)[3]).content.decode()

    assert 'name="consent_terms"' in signup and 'name="consent_terms"' in finish
    for page in (signup, finish):
        assert [link in page for link in READ_LINKS] == [True, True]
        assert FOOTER in page


def test_the_profiles_footer_links_both_pages(organization, programs):
    client = signed_in(organization, create_customer(organization))

    assert FOOTER in client.get("/me/").content.decode()


# --- The portal ---------------------------------------------------------------------------------


def test_staff_publish_a_version_in_the_portal_starting_from_the_current_text(client_a, organization):
    user = staff(client_a, organization)

    form = client_a.get(ADD, {"kind": "terms"})
    assert form.status_code == 200
    assert form.context["adminform"].form.initial["body"].startswith("These are the terms of the loyalty")
    published = client_a.post(ADD, {"kind": "terms", "body": "Our own terms.\r\n\r\nPart two."})

    assert published.status_code == 302
    assert versions(organization) == [("terms", "Our own terms.\n\nPart two.", user.email)]
    listing = client_a.get(LIST).content.decode()
    assert '<li data-legal-kind="terms">' in listing
    assert '<li data-legal-kind="privacy" data-default="true">' in listing
    new_privacy = f'<a class="portal-tool" href="{ADD}?kind=privacy">New version of the Privacy policy</a>'
    assert new_privacy in listing
    assert text_of(client_a.get("/terms").content.decode()) == "<p>Our own terms.</p>\n\n<p>Part two.</p>"


def test_published_versions_cannot_be_changed_or_deleted_in_the_portal(client_a, organization):
    staff(client_a, organization)
    with tenant_context(organization):
        version = legal_version_publish(kind="terms", body="Kept as it is.", actor=None)
    url = f"{LIST}{version.pk}/"

    change = client_a.post(f"{url}change/", {"kind": "privacy", "body": "Changed"})
    delete = client_a.post(f"{url}delete/", {"post": "yes"})

    assert change.status_code in (302, 403) and delete.status_code == 403
    assert versions(organization) == [("terms", "Kept as it is.", None)]
    # The page shows it read-only.
    assert client_a.get(f"{url}change/").status_code == 200


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"kind": "terms", "body": "   "}, "Write the text of the page."),
        ({"kind": "terms", "body": "Bell \x07"}, "The text is too long or holds control characters."),
        (
            {"kind": "imprint", "body": "Text"},
            "Select a valid choice. imprint is not one of the available choices.",
        ),
        (
            {"kind": "terms", "body": "Current."},
            "This is the text of the current version already; nothing to publish.",
        ),
    ],
    ids=["blank", "control-character", "unknown-kind", "unchanged"],
)
def test_bad_input_in_the_portal_is_a_form_error_and_changes_nothing(client_a, organization, body, error):
    staff(client_a, organization)
    with tenant_context(organization):
        legal_version_publish(kind="terms", body="Current.", actor=None)
    before = (versions(organization), legal_audit(organization))

    response = client_a.post(ADD, body)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert error in [message for messages in form.errors.values() for message in messages]
    assert (versions(organization), legal_audit(organization)) == before


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(OWNER, True), (MANAGER, True), (CASHIER, False), (MARKETING, False), (DEVELOPER, False)],
)
def test_only_owners_and_managers_publish_texts_and_set_the_contact_email(
    client_a, organization, role, allowed
):
    staff(client_a, organization, role)

    listing = client_a.get(LIST)
    published = client_a.post(ADD, {"kind": "privacy", "body": f"Privacy by {role}."})
    contact = client_a.post(CONTACT_ADD, {"email": "help@a.example"})

    if allowed:
        assert (listing.status_code, published.status_code, contact.status_code) == (200, 302, 302)
        assert versions(organization)[0][:2] == ("privacy", f"Privacy by {role}.")
        with tenant_context(organization):
            assert list(ContactEmail.objects.values_list("email", flat=True)) == ["help@a.example"]
    else:
        assert (listing.status_code, published.status_code, contact.status_code) == (403, 403, 403)
        assert versions(organization) == []
        with tenant_context(organization):
            assert ContactEmail.objects.count() == 0


def test_another_organizations_staff_never_see_or_edit_these_texts(
    client_a, client_b, organization, other_organization
):
    with tenant_context(organization):
        version = legal_version_publish(kind="terms", body="Terms of A only.", actor=None)
    staff(client_b, other_organization)

    # B's owner on B's host: B's list has none of A's rows, A's id opens nothing of A's.
    listing = client_b.get(LIST).content.decode()
    opened = client_b.get(f"{LIST}{version.pk}/change/")
    published = client_b.post(ADD, {"kind": "terms", "body": "Terms of B."})

    assert "Terms of A only." not in listing
    assert opened.status_code in (302, 404) and b"Terms of A only." not in opened.content
    assert published.status_code == 302
    assert versions(organization) == [("terms", "Terms of A only.", None)]
    assert [row[:2] for row in versions(other_organization)] == [("terms", "Terms of B.")]
    # B's session is no session on A's host.
    assert HostClient(organization).get(LIST).status_code == 302
    client_b_on_a = HostClient(organization)
    client_b_on_a.cookies = client_b.cookies
    assert client_b_on_a.get(LIST).status_code == 302


def test_a_bad_contact_email_in_the_portal_is_a_form_error_and_changes_nothing(client_a, organization):
    staff(client_a, organization)

    response = client_a.post(CONTACT_ADD, {"email": "not an address"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"email": ["Enter a valid email address."]}
    with tenant_context(organization):
        assert ContactEmail.objects.count() == 0
    assert legal_audit(organization) == []


def test_another_organizations_staff_never_see_this_contact_email(client_b, organization, other_organization):
    with tenant_context(organization):
        contact = contact_email_set(email="only-a@a.example", actor=None)
    staff(client_b, other_organization)

    listing = client_b.get("/admin/branding/contactemail/").content.decode()
    opened = client_b.get(f"/admin/branding/contactemail/{contact.pk}/change/")
    removed = client_b.post(f"/admin/branding/contactemail/{contact.pk}/delete/", {"post": "yes"})

    assert "only-a@a.example" not in listing
    assert opened.status_code in (302, 404) and b"only-a@a.example" not in opened.content
    assert removed.status_code in (302, 404)
    with tenant_context(organization):
        assert list(ContactEmail.objects.values_list("email", flat=True)) == ["only-a@a.example"]
    # A's privacy page names A's address; B's page has none.
    assert "only-a@a.example" in HostClient(organization).get("/privacy").content.decode()
    assert "only-a@a.example" not in client_b.get("/privacy").content.decode()
