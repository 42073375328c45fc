from django.http import HttpRequest, HttpResponse, HttpResponseNotFound


def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """A campaign email's unsubscribe link (campaigns.messages)."""
    return HttpResponseNotFound()
