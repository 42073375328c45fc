from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from loyalty_platform.branding.legal import MAX_TEXT
from loyalty_platform.branding.models import ContactEmail, LegalVersion, Logo
from loyalty_platform.branding.selectors import legal_page, logo_url
from loyalty_platform.branding.services import (
    contact_email_set,
    legal_text_clean,
    legal_version_publish,
    logo_png,
    logo_remove,
    logo_replace,
)
from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site
from loyalty_platform.core.errors import DomainError


class LogoForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("Logo image"),
        help_text=_(
            "PNG, JPEG, WebP or GIF, at most 1 MB. It is shown beside your organization's name in "
            "the portal, scaled to fit 256 x 256 pixels; a square logo looks best."
        ),
    )

    class Meta:
        model = Logo
        fields: list[str] = []

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        logo_png(upload)
        upload.seek(0)
        return upload


@admin.register(Logo, site=merchant_admin_site)
class LogoAdmin(ModelAdmin):
    form = LogoForm
    list_display = ["preview", "width", "height", "updated_at"]
    readonly_fields = ["preview"]

    @admin.display(description=_("Logo"))
    def preview(self, logo: Logo) -> str:
        return format_html('<img src="{}" alt="" height="38">', logo_url() or "") if logo.pk else "-"

    def save_model(self, request, obj, form, change) -> None:
        logo = logo_replace(upload=form.cleaned_data["upload"], actor=request.user)
        obj.pk, obj.digest, obj.width, obj.height = logo.pk, logo.digest, logo.width, logo.height

    def delete_model(self, request, obj) -> None:
        logo_remove(logo=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for logo in queryset:
            logo_remove(logo=logo, actor=request.user)


# What staff read when a text is refused (the service's codes).
LEGAL_TEXT_ERRORS = {
    "body_required": _("Write the text of the page."),
    "body_invalid": _("The text is too long or holds control characters."),
    "kind_invalid": _("Choose the terms or the privacy policy."),
    "legal_text_unchanged": _("This is the text of the current version already; nothing to publish."),
}


class LegalVersionForm(forms.ModelForm):
    body = forms.CharField(
        label=_("Text"),
        max_length=MAX_TEXT,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=_(
            "Plain text: an empty line starts a new paragraph, web and email addresses become links. "
            "HTML is shown as typed, never run. Publishing makes this the page's text from now on; "
            "earlier versions stay readable."
        ),
    )

    class Meta:
        model = LegalVersion
        fields = ["kind", "body"]
        help_texts = {
            "kind": _(
                "The page this text is for: the terms customers accept when they join, or the privacy policy."
            )
        }

    def clean(self):
        cleaned = super().clean()
        if "kind" in cleaned and "body" in cleaned:
            try:
                cleaned["body"] = legal_text_clean(kind=cleaned["kind"], body=cleaned["body"])
            except DomainError as error:
                raise forms.ValidationError(LEGAL_TEXT_ERRORS[error.code], code=error.code) from None
        return cleaned


@admin.register(LegalVersion, site=merchant_admin_site)
class LegalVersionAdmin(MerchantModelAdmin):
    """Published versions are kept as they were: staff add a new one, never edit or delete."""

    form = LegalVersionForm
    change_list_template = "admin/branding/legalversion/change_list.html"
    list_display = ["kind", "published_at", "published_by", "characters"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "published_at", "published_by", "page_text"]

    def get_fields(self, request, obj=None):
        return ["kind", "body"] if obj is None else ["kind", "published_at", "published_by", "page_text"]

    @admin.display(description=_("Characters"))
    def characters(self, version: LegalVersion) -> int:
        return len(version.body)

    @admin.display(description=_("Text"))
    def page_text(self, version: LegalVersion) -> str:
        return legal_page(version.kind, version_id=version.pk).html

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_changeform_initial_data(self, request):
        """A new version starts from the page's current text (the default one before any)."""
        kind = request.GET.get("kind", "")
        if kind not in LegalVersion.Kind.values:
            return {}
        return {"kind": kind, "body": legal_page(kind).body}

    def save_model(self, request, obj, form, change) -> None:
        version = legal_version_publish(
            kind=form.cleaned_data["kind"], body=form.cleaned_data["body"], actor=request.user
        )
        obj.pk, obj.published_at, obj.published_by = version.pk, version.published_at, version.published_by

    def changelist_view(self, request, extra_context=None):
        pages = [
            {"kind": kind, "label": label, "page": legal_page(kind), "url": f"/{kind}"}
            for kind, label in LegalVersion.Kind.choices
        ]
        return super().changelist_view(request, {**(extra_context or {}), "legal_pages": pages})


@admin.register(ContactEmail, site=merchant_admin_site)
class ContactEmailAdmin(MerchantModelAdmin):
    fields = ["email"]
    list_display = ["email", "updated_at"]

    def has_add_permission(self, request, *args) -> bool:
        return not ContactEmail.objects.exists() and super().has_add_permission(request, *args)

    def save_model(self, request, obj, form, change) -> None:
        contact = contact_email_set(email=form.cleaned_data["email"], actor=request.user)
        if contact is not None:
            obj.pk, obj.updated_at = contact.pk, contact.updated_at

    def delete_model(self, request, obj) -> None:
        contact_email_set(email="", actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        contact_email_set(email="", actor=request.user)
