from django.contrib import admin

from loyalty_platform.core.admin_sites import ReadOnlyAdmin, merchant_admin_site
from loyalty_platform.identification.models import Invitation, QrCardSession


@admin.register(QrCardSession, site=merchant_admin_site)
class QrCardSessionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "device_name", "status", "customer", "expires_at", "authenticated_at"]
    list_filter = ["status"]


@admin.register(Invitation, site=merchant_admin_site)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "phone", "email", "status", "customer", "expires_at", "accepted_at"]
    list_filter = ["status"]
