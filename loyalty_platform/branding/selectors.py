from django.urls import reverse

from loyalty_platform.branding.models import Logo


def logo_url() -> str | None:
    """The current logo's URL (versioned by its digest), None without a logo."""
    digest = Logo.objects.filter(is_current=True).values_list("digest", flat=True).first()
    return f"{reverse('organization-logo')}?v={digest}" if digest else None
