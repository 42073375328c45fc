from django.contrib import admin

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.admin_sites import merchant_admin_site


@admin.register(AuditLogEntry, site=merchant_admin_site)
class AuditLogEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_repr"]
    list_filter = ["action"]
    search_fields = ["target_repr", "target_id", "actor__email"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
