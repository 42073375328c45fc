"""A merchant's own sign-up on the platform host: a pending SignupRequest, the email that
confirms its address, and the organization created only when that link is confirmed
(docs/decisions/0033-signup.md).

Country defaults (currency, time zone, language) come from the CLDR data that babel ships,
not from a table of our own."""

import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.languages import get_official_languages
from babel.numbers import get_territory_currencies
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.mail import email_build, email_language
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.demo.services import sample_data_create
from tenants.models import SignupRequest
from tenants.platform import organization_hostname, platform_base_url, platform_port_suffix
from tenants.services import SIGNUP_SLUG_MIN_LENGTH, OrganizationError, _validate_slug, organization_create

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 120

SLUG_MESSAGES = {
    "slug_required": gettext_lazy("Choose the address of your loyalty pages."),
    "slug_invalid": gettext_lazy(
        "Use lowercase letters a-z, digits and single hyphens, starting with a letter or digit."
    ),
    "slug_too_short": gettext_lazy("Use at least 3 characters."),
    "slug_too_long": gettext_lazy("Use at most 40 characters."),
    "slug_reserved": gettext_lazy("This address is reserved for the platform; choose another."),
    "slug_taken": gettext_lazy("This address is taken; choose another."),
}
# Input that can never be a slug (the address check answers 400 for it); the rest is a
# well-formed question whose answer may be "not available" (200).
SLUG_FORMAT_ERRORS = frozenset({"slug_required", "slug_invalid", "slug_too_short", "slug_too_long"})


class SignupError(ValueError):
    """A refused sign-up step; `code` says which, `status` the HTTP status a page answers."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(message or code)
        self.code = code
        self.status = status


def slug_normalized(slug: str) -> str:
    return (slug or "").strip().lower()


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be a new sign-up's address (a code of SLUG_MESSAGES), or None."""
    if not slug:
        return "slug_required"
    try:
        _validate_slug(slug, min_length=SIGNUP_SLUG_MIN_LENGTH)
    except OrganizationError as error:
        return error.code
    return None


def slug_address(slug: str) -> str:
    """What the merchant sees as their address: `<slug>.<platform host>` with its port."""
    return organization_hostname(slug) + platform_port_suffix()


# Countries and their defaults (CLDR via babel).


@dataclass(frozen=True)
class CountryDefaults:
    currency: str
    timezone: str
    language: str


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166 countries with a legal tender and a time zone in CLDR (no continents, no
    uninhabited islands)."""
    zones = get_global("territory_zones")
    return frozenset(
        code
        for code in zones
        if len(code) == 2
        and code.isalpha()
        and code.isupper()
        and get_territory_currencies(code, tender=True)
    )


def country_choices(language: str) -> list[tuple[str, str]]:
    """(code, name) of every country, named and sorted in `language` (English if babel does
    not know it)."""
    try:
        locale = Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    names = locale.territories
    return sorted(
        ((code, names.get(code, code)) for code in country_codes()), key=lambda item: item[1].casefold()
    )


@cache
def _country_zones(country: str) -> tuple[str, ...]:
    return tuple(get_global("territory_zones").get(country, ()))


@cache
def _default_zone(country: str) -> str:
    """A country's zone when the browser names none of its own: its only one, or, for a
    country with several, a zone of the metazone most of them share that CLDR also names as
    the main zone of a Windows time zone (America/New_York for the US). The owner can change
    it in the portal's settings."""
    zones = _country_zones(country)
    if len(zones) <= 1:
        return zones[0] if zones else "UTC"
    meta_zones = get_global("meta_zones")
    main_zones = set(get_global("windows_zone_mapping").values())
    shared = Counter(meta_zones[zone] for zone in zones if zone in meta_zones)
    candidates = [zone for zone in zones if zone in main_zones] or list(zones)
    return max(candidates, key=lambda zone: (shared.get(meta_zones.get(zone), 0), -zones.index(zone)))


def country_defaults(country: str, *, timezone_hint: str = "") -> CountryDefaults:
    """The currency in use today, a time zone (the browser's when it is one of the
    country's) and the most widely used official language of `country`."""
    country = country.upper()
    if country not in country_codes():
        raise SignupError("country_invalid", _("Choose your country from the list."))
    currency = get_territory_currencies(country, tender=True)[0]
    zone = timezone_hint if timezone_hint in _country_zones(country) else _default_zone(country)
    languages = get_official_languages(country, de_facto=True)
    return CountryDefaults(currency=currency, timezone=zone, language=languages[0] if languages else "en")


# The pending sign-up and its link.


def verification_url(token: str) -> str:
    return f"{platform_base_url()}/signup/verify/{token}"


def _send_verification(*, signup: SignupRequest, token: str, language: str | None) -> None:
    """The link, in `language`: the one the visitor's sign-up page was in (decision 0058)."""
    url = verification_url(token)
    message = email_build(
        language=email_language(language),
        template="signup/emails/verify",
        subject=lambda: _("Confirm your email to create %(name)s") % {"name": signup.name},
        context={
            "url": url,
            "url_link": format_html('<a href="{}">{}</a>', url, url),
            "name": signup.name,
            "address": slug_address(signup.slug),
            "hours": settings.SIGNUP_LINK_HOURS,
        },
        to=[signup.email],
    )
    transaction.on_commit(message.send)


def email_normalized(email: str) -> str:
    email = (email or "").strip()
    if "@" in email:
        local, _at, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
    return email


def email_domain(email: str) -> str:
    return email_normalized(email).rpartition("@")[2]


@transaction.atomic
def signup_request_create(
    *,
    name: str,
    slug: str,
    email: str,
    password: str,
    country: str,
    sample_data: bool = False,
    timezone_hint: str = "",
    language: str | None = None,
) -> SignupRequest:
    """Store a sign-up and email its confirmation link, in `language` (the sign-up page's;
    English when none). Nothing of the organization exists until the link is confirmed
    (signup_confirm); the password is kept only as its hash."""
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise SignupError("name_invalid", _("Give your business's name (at most 120 characters)."))
    slug = slug_normalized(slug)
    if problem := slug_problem(slug):
        raise SignupError(problem, str(SLUG_MESSAGES[problem]))
    email = email_normalized(email)
    try:
        validate_email(email)
    except ValidationError as error:
        raise SignupError("email_invalid", _("This is not an email address.")) from error
    try:
        validate_password(password)
    except ValidationError as error:
        raise SignupError("password_invalid", " ".join(error.messages)) from error
    defaults = country_defaults(country, timezone_hint=timezone_hint)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    signup = SignupRequest.objects.create(
        name=name,
        slug=slug,
        email=email,
        password_hash=make_password(password),
        country=country.upper(),
        timezone=defaults.timezone,
        sample_data=sample_data,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(hours=settings.SIGNUP_LINK_HOURS),
    )
    _send_verification(signup=signup, token=token, language=language)
    return signup


@transaction.atomic
def signup_link_resend(*, email: str, language: str | None = None) -> SignupRequest | None:
    """A new link for the newest pending sign-up of `email` (the old link stops working);
    None, and no email, when there is none. Its 24 hours still count from the sign-up. The
    email is in `language`, the page's the visitor asked from."""
    signup = (
        SignupRequest.objects.select_for_update()
        .filter(
            email__iexact=email_normalized(email),
            verified_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )
    if signup is None:
        return None
    token = secrets.token_urlsafe(32)
    signup.token_hash = token_hash(token)
    signup.save(update_fields=["token_hash"])
    _send_verification(signup=signup, token=token, language=language)
    return signup


def _usable(signup: SignupRequest | None) -> SignupRequest:
    if signup is None:
        raise SignupError("signup_link_invalid", _("This link is not valid."), status=404)
    if signup.verified_at is not None:
        raise SignupError("signup_link_used", _("This link has been used already."), status=410)
    if signup.expires_at <= timezone.now():
        raise SignupError("signup_link_expired", _("This link has expired."), status=410)
    return signup


def signup_find(*, token: str) -> SignupRequest:
    """The pending sign-up of a link; SignupError signup_link_invalid (404), _used or
    _expired (410) otherwise. Reads only: a mail scanner opening the link changes nothing."""
    if not token or len(token) > 100:
        return _usable(None)
    return _usable(
        SignupRequest.objects.select_related("organization").filter(token_hash=token_hash(token)).first()
    )


def signup_link_state(*, token: str) -> SignupRequest | None:
    """The sign-up of a link whatever its state (for the pages that explain a used link)."""
    if not token or len(token) > 100:
        return None
    return SignupRequest.objects.select_related("organization").filter(token_hash=token_hash(token)).first()


def signup_confirm(*, token: str, slug: str = "") -> SignupRequest:
    """Create the organization of a pending sign-up: cloned from the template schema, on a
    trial subscription, with the defaults of its country, the owner as its first staff member
    (with the password given at sign-up) and the sample data when asked for.

    `slug` replaces the address asked for at sign-up (when someone took it meanwhile). All or
    nothing: the sign-up row is locked, so a link confirmed twice at once creates one
    organization; a refused step (SignupError: the link's codes, slug_*) leaves no trace."""
    try:
        with transaction.atomic():
            signup = signup_find(token=token)
            signup = _usable(SignupRequest.objects.select_for_update().filter(pk=signup.pk).first())
            if slug:
                signup.slug = slug_normalized(slug)
            if problem := slug_problem(signup.slug):
                raise SignupError(problem, str(SLUG_MESSAGES[problem]), status=409)
            defaults = country_defaults(signup.country, timezone_hint=signup.timezone)
            try:
                organization = organization_create(
                    slug=signup.slug,
                    name=signup.name,
                    currency=defaults.currency,
                    country=signup.country,
                    timezone_name=defaults.timezone,
                    language=defaults.language,
                    trial_days=settings.SIGNUP_TRIAL_DAYS,
                    slug_min_length=SIGNUP_SLUG_MIN_LENGTH,
                )
            except OrganizationError as error:
                raise SignupError(
                    error.code, str(SLUG_MESSAGES.get(error.code, error)), status=409
                ) from error
            except IntegrityError as error:
                # Another sign-up created the same slug between our check and our insert.
                raise SignupError("slug_taken", str(SLUG_MESSAGES["slug_taken"]), status=409) from error
            with tenant_context(organization):
                owner = staff_user_create(email=signup.email, password=None)
                owner.password = signup.password_hash
                owner.save(update_fields=["password"])
            if signup.sample_data:
                sample_data_create(organization=organization)
            signup.verified_at = timezone.now()
            signup.organization = organization
            # The owner's account has the hash now; no second copy stays in the public schema.
            signup.password_hash = ""
            signup.save(update_fields=["slug", "verified_at", "organization", "password_hash"])
    except DomainError as error:
        # The platform's default plan leaves no room (plan_limit_reached for the owner or the
        # sample shop): the operator's settings, nothing the merchant can fix.
        raise SignupError(
            error.error.code,
            _("The platform cannot create new organizations at the moment. Please contact it."),
            status=409,
        ) from error
    logger.info("sign-up confirmed: organization %s", organization.slug)
    return signup


SIGNUP_KEEP_DAYS = 7


def signup_requests_purge(*, now: datetime | None = None) -> int:
    """Delete sign-ups never confirmed whose link expired SIGNUP_KEEP_DAYS ago or more (their
    password hash and address go with them); the count deleted. Confirmed ones stay, without
    their hash, as the record of who created the organization."""
    cutoff = (now or timezone.now()) - timedelta(days=SIGNUP_KEEP_DAYS)
    deleted, _per_model = SignupRequest.objects.filter(
        verified_at__isnull=True, expires_at__lt=cutoff
    ).delete()
    return deleted
