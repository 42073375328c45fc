"""The portals' look: django-unfold's settings callbacks. The merchant sidebar is grouped by what
staff do; each entry shows only to staff who hold its permission, and a group with no entry
left is dropped. Internal records (PIN challenges, idempotency, money entries, QR sessions)
sit under Developers, out of the way of daily work. See docs/decisions/0027-portal-theme.md."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from loyalty_platform.branding.selectors import logo_url


@dataclass(frozen=True)
class Entry:
    title: str
    icon: str
    url_name: str
    # A permission the user must hold; None means the model's view permission, read from the
    # URL name ("app_model_changelist").
    permission: str | None = None

    def required_permission(self) -> str:
        if self.permission:
            return self.permission
        app_model = self.url_name.removesuffix("_changelist")
        app_label, _sep, model = app_model.rpartition("_")
        return f"{app_label}.view_{model}"


MERCHANT_NAVIGATION: tuple[tuple[str, tuple[Entry, ...]], ...] = (
    (
        _("Today"),
        (
            Entry(_("Dashboard"), "dashboard", "index", "accounts.view_dashboard"),
            Entry(_("Till"), "point_of_sale", "till", "accounts.use_till"),
            Entry(_("Share your program"), "qr_code_2", "onboarding_share", "accounts.view_dashboard"),
        ),
    ),
    (
        _("Customers"),
        (
            Entry(_("Customers"), "group", "customers_customer_changelist"),
            Entry(_("Customer tiers"), "workspace_premium", "tiers_customertier_changelist"),
            Entry(_("Coupons"), "confirmation_number", "coupons_coupon_changelist"),
        ),
    ),
    (
        _("Programs"),
        (
            Entry(_("Programs"), "loyalty", "programs_program_changelist"),
            Entry(_("Tiers"), "military_tech", "tiers_tier_changelist"),
            Entry(_("Points and stamps history"), "history", "programs_ledgerentry_changelist"),
        ),
    ),
    (
        _("Rewards and vouchers"),
        (
            Entry(_("Rewards"), "redeem", "rewards_reward_changelist"),
            Entry(_("Reward receptions"), "inventory", "rewards_rewardreception_changelist"),
            Entry(_("Promotions"), "sell", "vouchers_promotion_changelist"),
            Entry(_("Vouchers"), "local_activity", "vouchers_voucher_changelist"),
            Entry(_("Voucher redemptions"), "task_alt", "vouchers_voucherredemption_changelist"),
        ),
    ),
    (
        _("Campaigns"),
        (
            Entry(_("Campaigns"), "campaign", "campaigns_campaign_changelist"),
            Entry(_("Segments"), "filter_alt", "campaigns_segment_changelist"),
            Entry(_("Referrals"), "share", "campaigns_referral_changelist"),
        ),
    ),
    (
        _("Giftcards and prepaid"),
        (
            Entry(_("Giftcard batches"), "stacks", "stored_value_giftcardbatch_changelist"),
            Entry(_("Giftcards"), "card_giftcard", "stored_value_giftcard_changelist"),
            Entry(_("Prepaid accounts"), "account_balance_wallet", "stored_value_prepaidaccount_changelist"),
        ),
    ),
    (
        _("Orders"),
        (
            Entry(_("Orders"), "receipt_long", "orders_order_changelist"),
            Entry(_("Returns"), "assignment_return", "orders_orderreturn_changelist"),
            Entry(_("Earning rules"), "rule", "orders_earningrule_changelist"),
        ),
    ),
    (
        _("Settings"),
        (
            Entry(_("Organization"), "storefront", "tenants_organization_changelist"),
            Entry(_("Logo"), "image", "branding_logo_changelist"),
            Entry(_("Terms and privacy"), "gavel", "branding_legalversion_changelist"),
            Entry(_("Contact email"), "contact_mail", "branding_contactemail_changelist"),
            Entry(_("Shops"), "store", "shops_shop_changelist"),
            Entry(_("Staff"), "badge", "accounts_user_changelist"),
            Entry(_("Custom attributes"), "tune", "attributes_attributedefinition_changelist"),
            Entry(_("Invitations"), "mail", "identification_invitation_changelist"),
            Entry(_("Audit log"), "manage_search", "audit_auditlogentry_changelist"),
            Entry(_("Plan and usage"), "data_usage", "plan_usage", "tenants.change_organization"),
        ),
    ),
    (
        _("Developers"),
        (
            Entry(_("API keys"), "key", "tenants_apikey_changelist"),
            Entry(_("Webhooks"), "webhook", "webhooks_webhookendpoint_changelist"),
            Entry(_("Money entries"), "receipt", "stored_value_moneyentry_changelist"),
            Entry(_("PIN challenges"), "pin", "verification_pinchallenge_changelist"),
            Entry(_("QR card sessions"), "qr_code", "identification_qrcardsession_changelist"),
        ),
    ),
)


def _navigation(request: HttpRequest, site_name: str, groups) -> list[dict]:
    user = request.user
    navigation = []
    for title, entries in groups:
        items = []
        for entry in entries:
            if not user.has_perm(entry.required_permission()):
                continue
            try:
                link = reverse(f"{site_name}:{entry.url_name}")
            except NoReverseMatch:
                # An entry whose page is not installed in this deployment.
                continue
            items.append({"title": entry.title, "icon": entry.icon, "link": link})
        if items:
            navigation.append({"title": title, "separator": True, "items": items})
    return navigation


def merchant_navigation(request: HttpRequest) -> list[dict]:
    return _navigation(request, "merchant_admin", MERCHANT_NAVIGATION)


PLATFORM_NAVIGATION: tuple[tuple[str, tuple[Entry, ...]], ...] = (
    (
        _("Platform"),
        (
            Entry(_("Organizations"), "domain", "tenants_organization_changelist"),
            Entry(_("Domains"), "language", "tenants_domain_changelist"),
            Entry(_("Custom domains"), "verified", "tenants_customdomain_changelist"),
            Entry(_("Plans"), "sell", "tenants_plan_changelist"),
            Entry(_("Subscriptions"), "event_repeat", "tenants_subscription_changelist"),
            Entry(_("API keys"), "key", "tenants_apikey_changelist"),
            Entry(_("Operator actions"), "history", "tenants_operatoraction_changelist"),
            Entry(_("Exports"), "archive", "tenants_organizationexport_changelist"),
            Entry(_("Scheduled jobs"), "schedule", "tenants_jobstatus_changelist"),
            Entry(_("Operators"), "badge", "accounts_user_changelist"),
        ),
    ),
)


def platform_navigation(request: HttpRequest) -> list[dict]:
    return _navigation(request, "platform_admin", PLATFORM_NAVIGATION)


def merchant_site_header(request: HttpRequest) -> str:
    organization = getattr(request, "organization", None)
    return organization.name if organization else str(_("Loyalty admin"))


def merchant_site_icon(request: HttpRequest) -> str | None:
    if getattr(request, "organization", None) is None:
        return None
    return logo_url()


def portal_stylesheet(request: HttpRequest) -> str:
    return static("css/portal.css")


def favicons(request: HttpRequest) -> list[dict]:
    return [{"rel": "icon", "type": "image/svg+xml", "href": static("img/favicon.svg")}]


def merchant_account_links(request: HttpRequest) -> list[dict]:
    """The account menu's own entries (beside the theme's log-out and password change)."""
    return [{"title": _("Two-factor sign-in"), "link": reverse("merchant_admin:two_factor_enrol")}]
