from django.http import HttpRequest, HttpResponse, HttpResponseNotFound


def referral_landing(request: HttpRequest, code: str) -> HttpResponse:
    """A customer's shared link: leads the friend to enrollment (campaigns.referrals)."""
    return HttpResponseNotFound()
