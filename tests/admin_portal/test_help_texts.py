"""Help text on the settings a merchant sets without knowing the platform."""

from django_tenants.utils import tenant_context

from loyalty_platform.vouchers.models import Promotion
from tests.admin_portal.test_merchant_admin import staff_login


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
