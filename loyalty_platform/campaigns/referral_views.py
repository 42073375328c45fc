"""A customer's shared link (/r/<code>/) and the profile's "Invite a friend" part.

The landing keeps the code in the visitor's session (with the schema it belongs to) and
leads to the profile's sign-up; the sign-up notes who enrolled, and the referral is recorded
when that friend opens the sign-in link sent to them, in the same session.
A code of another organization is not in this schema: 404 referral_not_found."""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty_platform.campaigns.referrals import (
    referral_campaign_running,
    referral_link_by_code,
    referral_link_for,
    referral_record,
)
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer

logger = logging.getLogger(__name__)

SESSION_KEY = "campaigns:referral"


@require_http_methods(["GET", "HEAD"])
def referral_landing(request: HttpRequest, code: str) -> HttpResponse:
    link = referral_link_by_code(code)
    if link is None:
        error = errors.REFERRAL_NOT_FOUND
        return render(
            request, "profile/message.html", {"title": _("Sorry"), "text": error.message}, status=error.status
        )
    request.session[SESSION_KEY] = {"schema": connection.schema_name, "code": link.code}
    return redirect("/me/signup")


def referral_after_signup(request: HttpRequest, *, customer: Customer, is_new: bool) -> None:
    """Note who signed up with the code the visitor came with (the profile's sign-up calls it
    once the enrollment committed). The referral is recorded when they open their sign-in
    link in this session (referral_after_sign_in): an address nobody can read refers nobody."""
    pending = request.session.get(SESSION_KEY)
    if not isinstance(pending, dict) or pending.get("schema") != connection.schema_name:
        return
    request.session[SESSION_KEY] = pending | {"customer": customer.pk, "is_new": bool(is_new)}


def referral_after_sign_in(request: HttpRequest, *, customer: Customer) -> None:
    """Record the referral of the sign-up made in this session, now that the friend proved
    the address is theirs. A refusal is only logged: the sign-up answered the same whether or
    not the address was a member, and so must the sign-in."""
    pending = request.session.get(SESSION_KEY)
    if (
        not isinstance(pending, dict)
        or pending.get("schema") != connection.schema_name
        or pending.get("customer") != customer.pk
    ):
        return
    del request.session[SESSION_KEY]
    try:
        referral_record(
            code=str(pending.get("code", "")), friend=customer, friend_is_new=pending.get("is_new") is True
        )
    except DomainError as error:
        logger.info("referral refused for customer %s: %s", customer.pk, error.code)


def referral_invite_context(request: HttpRequest, customer: Customer) -> dict:
    """The dashboard's "Invite a friend" part: the customer's link, only while a referral
    campaign runs."""
    if not referral_campaign_running():
        return {}
    link = referral_link_for(customer=customer)
    return {"referral_url": f"{settings.PLATFORM_SCHEME}://{request.get_host()}/r/{link.code}/"}
