from django.contrib import admin

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site


@admin.register(AuditLogEntry, site=merchant_admin_site)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target_repr"]
    list_filter = ["action"]
    search_fields = ["target_repr", "target_id", "actor__email"]
