"""Every field a merchant sets in the portal says what it does (issue 12, item 1)."""

from django.test import RequestFactory
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.vouchers.models import Promotion
from tests.admin_portal.test_merchant_admin import staff_login


def _without_help_text(form_class, read_only, label: str, page: str) -> list[str]:
    return [
        f"{label}.{name} ({page})"
        for name, field in form_class.base_fields.items()
        if name not in read_only and not field.widget.is_hidden and not str(field.help_text or "").strip()
    ]


def _editable_fields_without_help_text(request) -> list[str]:
    """`app.Model.field (add|change)` for each editable, visible form field with an empty help
    text, over the add and change forms (and their inlines) of every model page on the merchant
    site that the user may add or change."""
    missing = []
    for model, model_admin in merchant_admin_site._registry.items():
        pages = []
        if model_admin.has_add_permission(request):
            pages.append(("add", None))
        instance = model()  # unsaved: the change form's class is all this needs
        if model_admin.has_change_permission(request, instance):
            pages.append(("change", instance))
        for page, obj in pages:
            form = model_admin.get_form(request, obj, change=obj is not None)
            read_only = set(model_admin.get_readonly_fields(request, obj))
            missing += _without_help_text(form, read_only, model._meta.label, page)
            for inline in model_admin.get_inline_instances(request, obj):
                formset = inline.get_formset(request, obj)
                inline_read_only = {*inline.get_readonly_fields(request, obj), formset.fk.name}
                where = f"{page} {model._meta.label}, inline"
                missing += _without_help_text(formset.form, inline_read_only, inline.model._meta.label, where)
    return sorted(missing)


def test_every_field_a_merchant_sets_in_the_portal_has_help_text(organization):
    request = RequestFactory().get("/admin/")
    request.user = User(email="owner@example.com", is_staff=True, is_active=True, is_superuser=True)
    request.organization = request.tenant = organization

    with tenant_context(organization):
        missing = _editable_fields_without_help_text(request)

    assert missing == [], "Fields without help text:\n" + "\n".join(missing)


def test_presets_rate_limits_and_voucher_pools_have_help_text(organization, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Spring")

    settings_page = client_a.get(f"/admin/tenants/organization/{organization.pk}/change/").content.decode()
    key_page = client_a.get("/admin/tenants/apikey/add/").content.decode()
    generate = client_a.get(f"/admin/vouchers/promotion/{promotion.pk}/generate/").content.decode()
    import_page = client_a.get(f"/admin/vouchers/promotion/{promotion.pk}/import/").content.decode()

    assert "Balanced: to redeem points" in settings_page
    assert "Requests per minute per API key" in settings_page
    assert "Requests per minute for this key" in key_page
    assert "A name for this batch of codes" in generate
    assert "A name for the imported codes" in import_page
