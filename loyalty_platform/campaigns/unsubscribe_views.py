"""A campaign email's unsubscribe link: GET asks, POST withdraws the marketing consent. The
token is signed and carries the schema and the customer (campaigns.messages), so a damaged
link or one of another organization gets the 400 page and changes nothing."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from loyalty_platform.campaigns.messages import unsubscribe_read
from loyalty_platform.campaigns.services import customer_unsubscribe
from loyalty_platform.core import errors


# The signed token is what authorizes the change, and mail clients' one-click unsubscribe
# (RFC 8058, List-Unsubscribe-Post) posts without any page, so there is no CSRF token to check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    content = unsubscribe_read(token)
    if content is None:
        error = errors.UNSUBSCRIBE_LINK_INVALID
        return render(
            request,
            "campaigns/unsubscribe.html",
            {"state": "invalid", "error_code": error.code, "text": error.message},
            status=error.status,
        )
    if request.method == "POST":
        customer_unsubscribe(customer_id=content["c"], campaign_id=content.get("k"))
        return render(request, "campaigns/unsubscribe.html", {"state": "done"})
    return render(
        request,
        "campaigns/unsubscribe.html",
        {"state": "confirm", "text": _("You will no longer receive news and offers by email.")},
    )
