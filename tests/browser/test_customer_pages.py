"""Every customer page in each of the four languages, on a phone and a desktop: the language
comes from the browser (Accept-Language), the page says so in its lang attribute, its heading
is the catalog's translation, axe-core's WCAG 2.1 A/AA rules pass and nothing is wider than
the screen."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.messages import unsubscribe_token
from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.identification.services import qr_login_session_create
from loyalty_platform.orders.claims import receipt_claim_url
from loyalty_platform.programs.services import customer_earn
from tests.browser.accessibility import axe_violations, horizontal_overflow
from tests.orders.test_services import create as create_order
from tests.pos_fixtures import committed_organization

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
SLUG = "test-customer-pages"
HOST = f"{SLUG}.localhost"
ORGANIZATION_NAME = "Pages Café"
CUSTOMER_NAME = "Rūta"
# What each language's browser sends first (Chromium's locale setting).
BROWSER_LOCALES = {"en": "en-GB", "lt": "lt-LT", "nb": "nb-NO", "nl": "nl-NL"}


@dataclass(frozen=True)
class Page:
    name: str
    # The path to open; made fresh for each visit (some pages use a one-time session).
    path: Callable[["Member"], str]
    # The element whose text is the catalog's translation, and that translation's English.
    selector: str
    text: Callable[[], str]
    signed_in: bool
    # Languages whose word is the English one (Dutch says "Sorry" too).
    same_as_english: tuple[str, ...] = ()


@dataclass(frozen=True)
class Member:
    customer_id: int
    sign_in_path: str


def _qr_login_path(member: Member) -> str:
    return f"/qr-login/{qr_login_session_create(device_name='Web shop').pk}"


def _receipt_claim_path(member: Member) -> str:
    """A receipt nobody has claimed yet, its claim link as the receipt's QR code holds it."""
    organization = connection.tenant
    external_id = uuid.uuid4().hex
    create_order(organization, None, external_id=external_id)
    return receipt_claim_url(
        organization=organization,
        base_url="",
        external_id=external_id,
        expires_at=timezone.now() + timedelta(days=1),
    )


PAGES = [
    Page(
        "home",
        lambda member: "/",
        ".tagline",
        lambda: gettext("Our loyalty program: collect with every visit, enjoy the rewards."),
        signed_in=False,
    ),
    Page("sign in", lambda member: "/me/login", "h1", lambda: gettext("Sign in"), signed_in=False),
    Page(
        "sign up",
        lambda member: "/me/signup",
        "h1",
        lambda: gettext("Join %(organization)s") % {"organization": ORGANIZATION_NAME},
        signed_in=False,
    ),
    Page(
        "unsubscribe",
        lambda member: f"/unsubscribe/{unsubscribe_token(customer_id=member.customer_id, campaign_id=1)}/",
        "h1",
        lambda: gettext("Unsubscribe from emails?"),
        signed_in=False,
    ),
    Page(
        "dashboard",
        lambda member: "/me/",
        "h1",
        lambda: gettext("Hello %(name)s") % {"name": CUSTOMER_NAME},
        signed_in=True,
    ),
    Page("my details", lambda member: "/me/details", "h1", lambda: gettext("My details"), signed_in=True),
    Page("offline", lambda member: "/me/offline", "h1", lambda: gettext("You are offline"), signed_in=False),
    Page(
        "data export",
        lambda member: "/me/export",
        "h1",
        lambda: gettext("Download your data"),
        signed_in=True,
    ),
    Page(
        "deletion", lambda member: "/me/delete", "h1", lambda: gettext("Delete your account"), signed_in=True
    ),
    Page(
        "shop sign-in",
        _qr_login_path,
        "#qr-login-title",
        lambda: (
            gettext("Sign in to %(device)s of %(organization)s?")
            % {"device": "Web shop", "organization": ORGANIZATION_NAME}
        ),
        signed_in=True,
    ),
    Page(
        "receipt claim",
        _receipt_claim_path,
        "h1",
        lambda: gettext("Add your receipt's points"),
        signed_in=True,
    ),
    Page(
        "an error",
        lambda member: "/identify/no-such-session",
        "h1",
        lambda: gettext("Sorry"),
        signed_in=True,
        same_as_english=("nl",),
    ),
]


@pytest.fixture(scope="module")
def pages_organization(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        organization, _ = committed_organization(SLUG, ORGANIZATION_NAME)
        connections.close_all()
    return organization


def _member(organization) -> Member:
    with tenant_context(organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com",
            name=CUSTOMER_NAME,
            consent_terms=True,
            consent_privacy=True,
            consent_marketing=True,
        )
        customer_earn(customer=customer, amount=1250, card_type="point", external_id=uuid.uuid4().hex)
        link = login_link_create(customer=customer)
    return Member(customer_id=customer.pk, sign_in_path="/" + link.split("/", 3)[3])


def _visit(page, server, organization, member: Member, language: str, spec: Page) -> list[str]:
    with tenant_context(organization):
        path = spec.path(member)
    response = page.goto(server.url(HOST, path))
    problems = []
    if response.status >= 500:
        problems.append(f"answered {response.status}")
    with translation.override(language):
        expected = spec.text()
    if (lang := page.locator("html").get_attribute("lang")) != language:
        problems.append(f"lang={lang!r}")
    if (shown := " ".join(page.locator(spec.selector).first.inner_text().split())) != expected:
        problems.append(f"{spec.selector} reads {shown!r}, not {expected!r}")
    problems += axe_violations(page)
    if overflow := horizontal_overflow(page):
        problems.append(f"{overflow} px wider than the screen")
    return [f"{spec.name} ({path}): {problem}" for problem in problems]


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", list(BROWSER_LOCALES))
def test_every_customer_page_in_the_browsers_language(chromium, server, pages_organization, language, width):
    member = _member(pages_organization)
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, locale=BROWSER_LOCALES[language], bypass_csp=True
    )
    page = context.new_page()
    problems = []
    try:
        for spec in [spec for spec in PAGES if not spec.signed_in]:
            problems += _visit(page, server, pages_organization, member, language, spec)
        page.goto(server.url(HOST, member.sign_in_path))
        for spec in [spec for spec in PAGES if spec.signed_in]:
            problems += _visit(page, server, pages_organization, member, language, spec)
    finally:
        context.close()

    assert problems == []


def test_every_page_of_the_walk_is_translated():
    """The walk above proves a language only where its heading differs from English."""
    untranslated = []
    for language in ("lt", "nb", "nl"):
        for spec in [spec for spec in PAGES if language not in spec.same_as_english]:
            with translation.override("en"):
                english = spec.text()
            with translation.override(language):
                if spec.text() == english:
                    untranslated.append(f"{language}: {spec.name}")
    assert untranslated == []
