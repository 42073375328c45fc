from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from loyalty_platform.branding.models import Logo
from loyalty_platform.core.views import not_found


@require_safe
def organization_logo(request: HttpRequest) -> HttpResponse:
    logo = Logo.objects.filter(is_current=True).first()
    if logo is None:
        return not_found(request)
    response = HttpResponse(bytes(logo.png), content_type="image/png")
    # A URL that names this logo's digest never changes content; any other is revalidated.
    if request.GET.get("v") == logo.digest:
        patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    else:
        patch_cache_control(response, public=True, max_age=300)
    response["X-Content-Type-Options"] = "nosniff"
    return response
