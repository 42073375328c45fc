from django.db import connection
from django.urls import reverse

from loyalty_platform.branding.legal import LegalPage, default_privacy, default_terms
from loyalty_platform.branding.models import ContactEmail, LegalVersion, Logo


def logo_url() -> str | None:
    """The current logo's URL (versioned by its digest), None without a logo."""
    digest = Logo.objects.filter(is_current=True).values_list("digest", flat=True).first()
    return f"{reverse('organization-logo')}?v={digest}" if digest else None


def contact_email() -> str | None:
    """The address customers write to about their data and refunds, None when staff set none."""
    return ContactEmail.objects.filter(is_current=True).values_list("email", flat=True).first()


def legal_versions(kind: str) -> list[LegalVersion]:
    """The published versions of a page, newest first."""
    return list(LegalVersion.objects.filter(kind=kind).select_related("published_by"))


def legal_page(kind: str, *, version_id: int | None = None) -> LegalPage | None:
    """The current text of the terms or privacy page (the platform's default until staff
    publish one), or the published version `version_id` (None when there is no such one)."""
    versions = LegalVersion.objects.filter(kind=kind)
    if version_id is not None:
        version = versions.filter(pk=version_id).first()
        return LegalPage(kind=kind, body=version.body, version=version) if version else None
    version = versions.first()
    if version is not None:
        return LegalPage(kind=kind, body=version.body, version=version)
    organization = connection.tenant.name
    if kind == LegalVersion.Kind.TERMS:
        body = default_terms(organization=organization)
    else:
        body = default_privacy(organization=organization, contact_email=contact_email())
    return LegalPage(kind=kind, body=body, version=None)
