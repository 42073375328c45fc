"""Platform support sessions in the merchant portal: an operator signed in from the console
(tenants.lifecycle.support_session_open, then the handoff view) as the organization's
platform support account. The session says who and why; every page shows it."""

from django.http import HttpRequest
from django.utils.translation import gettext as _

# The session of an operator signed in for support: {"operator": email, "reason": text}.
SUPPORT_SESSION_KEY = "support_session"


def support_session(request: HttpRequest) -> dict | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    value = session.get(SUPPORT_SESSION_KEY)
    return value if isinstance(value, dict) else None


def support_banner(request: HttpRequest) -> str | None:
    """The banner of a support session, for the merchant site's `banners`."""
    support = support_session(request)
    if support is None:
        return None
    return _("Platform support %(operator)s is signed in: %(reason)s") % {
        "operator": support.get("operator", ""),
        "reason": support.get("reason", ""),
    }
