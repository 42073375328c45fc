from django.contrib import admin

from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.identification.models import Invitation, QrCardSession


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QrCardSession, site=merchant_admin_site)
class QrCardSessionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "device_name", "status", "customer", "expires_at", "authenticated_at"]
    list_filter = ["status"]


@admin.register(Invitation, site=merchant_admin_site)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "phone", "email", "status", "customer", "expires_at", "accepted_at"]
    list_filter = ["status"]
