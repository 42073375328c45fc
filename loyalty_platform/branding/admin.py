from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from loyalty_platform.branding.models import Logo
from loyalty_platform.branding.selectors import logo_url
from loyalty_platform.branding.services import logo_png, logo_remove, logo_replace
from loyalty_platform.core.admin_sites import merchant_admin_site


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
