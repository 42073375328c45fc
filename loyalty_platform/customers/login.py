import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from loyalty_platform.core import errors, throttle
from loyalty_platform.core.mail import email_build
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.customers.mail import customer_email_language
from loyalty_platform.customers.models import Customer, LoginLink

LINK_MINUTES = 15


# Long enough for a receipt claim link (an external_id of 128 characters, percent-encoded).
MAX_NEXT_PATH = 600


def safe_next_path(next_path: str) -> str:
    """Only a path on this host, never another site."""
    if (
        not next_path.startswith("/")
        or next_path.startswith("//")
        or "\\" in next_path
        or len(next_path) > MAX_NEXT_PATH
    ):
        return "/me/"
    return next_path


def login_email_wait(*, email: str, ip: str) -> int | None:
    """Count a request for a sign-in email (sign-in, or sign-up of a known address); the
    seconds to wait when the address or the IP asked too often, else None."""
    wait = throttle.attempt(throttle.limit("login_email_ip"), ip)
    if wait is None and email:
        wait = throttle.attempt(throttle.limit("login_email_address"), throttle.digest(email))
    return wait


def login_link_create(*, customer: Customer, next_path: str = "/me/") -> str:
    """A sign-in URL for the customer, valid LINK_MINUTES and once."""
    token = secrets.token_urlsafe(32)
    LoginLink.objects.create(
        customer=customer,
        token_hash=token_hash(token),
        next_path=safe_next_path(next_path),
        expires_at=timezone.now() + timedelta(minutes=LINK_MINUTES),
    )
    return organization_url(f"/me/login/{token}")


def organization_url(path: str) -> str:
    """An absolute URL of `path` on the current organization's primary host (for emails)."""
    domain = connection.tenant.domains.filter(is_primary=True).first()
    port = settings.PLATFORM_HOST.partition(":")[2]
    host = domain.domain + (f":{port}" if port else "")
    return f"{settings.PLATFORM_SCHEME}://{host}{path}"


def login_link_send(*, customer: Customer, next_path: str = "/me/") -> str:
    url = login_link_create(customer=customer, next_path=next_path)
    organization = connection.tenant
    email_build(
        language=customer_email_language(customer),
        template="emails/login_link",
        subject=lambda: (
            gettext("Your sign-in link for %(organization)s") % {"organization": organization.name}
        ),
        context={"url": url, "minutes": LINK_MINUTES, "customer": customer},
        to=[customer.email],
        organization=organization,
    ).send()
    return url


def login_link_consume(*, token: str) -> LoginLink:
    """Spend a link exactly once; DomainError login_link_invalid / _expired / _used."""
    link = LoginLink.objects.select_related("customer").filter(token_hash=token_hash(token or "")).first()
    if link is None or link.customer.status != Customer.Status.ACTIVE:
        raise errors.LOGIN_LINK_INVALID()
    now = timezone.now()
    if link.expires_at <= now:
        raise errors.LOGIN_LINK_EXPIRED()
    spent = LoginLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now)
    if not spent:
        raise errors.LOGIN_LINK_USED()
    return link
