"""Two admin portals: operators manage organizations on the platform host; each
organization's staff manage their own schema on the organization's host. Keeping them as
separate sites means no public-schema model can ever be registered on a merchant's admin."""

from django.contrib.admin import AdminSite, ModelAdmin


class PlatformAdminSite(AdminSite):
    site_header = "Loyalty platform: operators"
    site_title = "Platform admin"
    index_title = "Organizations, plans and subscriptions"


class MerchantAdminSite(AdminSite):
    site_title = "Merchant admin"
    index_title = "Programs, customers and settings"

    def each_context(self, request):
        context = super().each_context(request)
        organization = getattr(request, "organization", None)
        context["site_header"] = f"{organization.name}: loyalty admin" if organization else "Loyalty admin"
        return context


platform_admin_site = PlatformAdminSite(name="platform_admin")
merchant_admin_site = MerchantAdminSite(name="merchant_admin")


class ReadOnlyAdmin(ModelAdmin):
    """For append-only records (ledgers, audit log, PIN challenges, QR sessions): staff read
    them; only services write them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
