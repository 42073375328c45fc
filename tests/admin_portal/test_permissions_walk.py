"""Every page of the merchant portal, opened by each of the five roles: a role gets the page
exactly when accounts/roles.py grants it the page's permission, and 403 otherwise.

The owner (who holds every permission) shows what each page answers when allowed; every other
role must get that same answer or 403, as its permissions say. The portal's own pages (beside
the model pages) declare their permission in CUSTOM_PAGES below, and the test fails for a page
that is in neither list, so a new page cannot ship without saying who may open it."""

from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, reverse
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.roles import CASHIER, DEVELOPER, MANAGER, MARKETING, OWNER, ROLE_PERMISSIONS
from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.audit.services import audit_record
from loyalty_platform.campaigns.models import Segment
from loyalty_platform.core.admin_sites import merchant_admin_site
from loyalty_platform.orders.models import EarningRule
from loyalty_platform.rewards.models import Reward
from loyalty_platform.stored_value.models import PrepaidAccount
from loyalty_platform.stored_value.services import giftcard_batch_generate
from loyalty_platform.tiers.models import Tier
from loyalty_platform.vouchers.models import Promotion
from loyalty_platform.vouchers.services import vouchers_generate
from loyalty_platform.webhooks.services import endpoint_create, test_event_send
from tenants.models import ApiKey, Organization
from tests.conftest import HostClient
from tests.factories import ShopFactory, StaffUserFactory
from tests.pos_fixtures import create_customer, issue_key

ROLES = (OWNER, MANAGER, CASHIER, MARKETING, DEVELOPER)
PASSWORD = "correct horse battery"
STANDARD_PAGES = ("changelist", "add", "change", "history", "delete")

# Model pages whose admin asks for another permission than the model's own.
MODEL_PAGE_PERMISSIONS = {
    "accounts.user": "accounts.manage_staff",
    "audit.auditlogentry": "accounts.view_auditlog",
}

WEBHOOK_LOG = (
    "webhooks.view_webhookendpoint",
    "webhooks.view_webhookdelivery",
    "webhooks.view_webhookattempt",
)
# The portal's own pages: URL name -> (permissions, the URL's arguments by name).
CUSTOM_PAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "till": (("accounts.use_till",), ()),
    "till_key": (("accounts.use_till",), ()),
    "accounts_user_invite": (("accounts.manage_staff",), ()),
    "accounts_user_two_factor_policy": (("accounts.manage_staff", "tenants.change_organization"), ()),
    "accounts_user_role": (("accounts.manage_staff",), ("user_id",)),
    "accounts_user_status": (("accounts.manage_staff",), ("user_id",)),
    "accounts_user_two_factor_reset": (("accounts.manage_staff",), ("user_id",)),
    "customers_customer_adjust": (("programs.add_ledgerentry",), ("customer_id",)),
    "customers_customer_block": (("customers.change_customer",), ("customer_id",)),
    "customers_customer_unblock": (("customers.change_customer",), ("customer_id",)),
    "customers_customer_card_block": (("customers.change_customer",), ("customer_id", "card_id")),
    "customers_customer_card_unblock": (("customers.change_customer",), ("customer_id", "card_id")),
    "customers_customer_timeline": (("customers.view_customer",), ("customer_id",)),
    "customers_customer_data": (("accounts.export_customers", "customers.change_customer"), ("customer_id",)),
    "customers_customer_erase": (("customers.delete_customer",), ("customer_id",)),
    "customers_customer_import": (("accounts.import_customers",), ()),
    "customers_customer_import_confirm": (("accounts.import_customers",), ()),
    "customers_customer_export": (("accounts.export_customers",), ()),
    "stored_value_giftcardbatch_csv": (("stored_value.change_giftcardbatch",), ("batch_id",)),
    "stored_value_giftcardbatch_sheet": (("stored_value.change_giftcardbatch",), ("batch_id",)),
    "stored_value_giftcard_adjust": (("stored_value.add_moneyentry",), ("object_id=giftcard_id",)),
    "stored_value_prepaidaccount_adjust": (("stored_value.add_moneyentry",), ("object_id=prepaid_id",)),
    "vouchers_promotion_generate": (("vouchers.add_voucher",), ("promotion_id",)),
    "vouchers_promotion_import": (("vouchers.add_voucher",), ("promotion_id",)),
    "vouchers_promotion_export": (("vouchers.change_voucher",), ("promotion_id",)),
    "onboarding_share": (("accounts.view_dashboard",), ()),
    "onboarding_poster": (("accounts.view_dashboard",), ()),
    "onboarding_link_copied": (("accounts.view_dashboard",), ()),
    "onboarding_dismiss": (("programs.add_program",), ()),
    "plan_usage": (("tenants.change_organization",), ()),
    "campaigns_segment_list": (("campaigns.view_segment",), ("segment_id",)),
    "campaigns_segment_list_import": (
        ("campaigns.change_segmentlistmember", "campaigns.change_segment"),
        ("segment_id",),
    ),
    "campaigns_segment_list_import_confirm": (
        ("campaigns.change_segmentlistmember", "campaigns.change_segment"),
        ("segment_id",),
    ),
    "webhooks_webhookendpoint_secret": (("webhooks.view_webhookendpoint",), ("endpoint_id",)),
    "webhooks_webhookendpoint_verify": (("webhooks.view_webhookendpoint",), ("endpoint_id",)),
    "webhooks_webhookendpoint_rotate": (("webhooks.change_webhookendpoint",), ("endpoint_id",)),
    "webhooks_webhookendpoint_deliveries": (WEBHOOK_LOG, ("endpoint_id",)),
    "webhooks_webhookendpoint_delivery": (WEBHOOK_LOG, ("endpoint_id", "delivery_id")),
}
# Pages every signed-in staff member may open (what they show depends on the role).
EVERY_STAFF_PAGES = {"index", "search", "two_factor_enrol", "password_change", "password_change_done"}
# Not opened by the walk, and why.
NOT_WALKED = {
    "login": "signed-in staff are sent on",
    "logout": "signs the walker out",
    "two_factor_verify": "only while a code is due (tests/accounts)",
    "accept_invite": "needs a fresh invitation token (tests/accounts)",
    "handoff": "needs a fresh one-time link from the platform host (tests/tenants/test_handoff.py)",
    "jsi18n": "the admin's translations script",
    "autocomplete": "a JSON search behind select boxes; Django checks the field's model",
    "view_on_site": "redirects to an object's public URL",
    "app_list": "one per app; lists what the role may see (404 when nothing)",
    "campaigns_campaign_state": "POST only (tests/campaigns/test_runner_admin.py)",
    "webhooks_webhookendpoint_enabled": "POST only (tests/webhooks/test_portal.py)",
    "webhooks_webhookendpoint_test": "POST only (tests/webhooks/test_portal.py)",
    "webhooks_webhookendpoint_redeliver": "POST only (tests/webhooks/test_portal.py)",
    "webhooks_webhookendpoint_redeliver_failed": "POST only (tests/webhooks/test_portal.py)",
}
# Models with no row in the walk's organization: their object pages are not opened.
MODELS_WITHOUT_A_ROW = {
    "branding.contactemail",
    "branding.legalversion",
    "branding.logo",
    "campaigns.campaign",
    "campaigns.campaigngrant",
    "campaigns.campaignmessage",
    "campaigns.campaignrun",
    "campaigns.referral",
    "coupons.coupon",
    "identification.invitation",
    "identification.qrcardsession",
    "orders.order",
    "orders.orderreturn",
    "rewards.rewardreception",
    "tiers.customertier",
    "verification.pinchallenge",
    "vouchers.voucherredemption",
}


def holds(role: str, permissions: tuple[str, ...]) -> bool:
    granted = ROLE_PERMISSIONS[role]
    return "*" in granted or all(permission in granted for permission in permissions)


def model_page_permissions(label: str, page: str) -> tuple[str, ...]:
    if label in MODEL_PAGE_PERMISSIONS:
        return (MODEL_PAGE_PERMISSIONS[label],)
    app_label, model = label.split(".")
    action = {"add": "add", "delete": "delete"}.get(page, "view")
    return (f"{app_label}.{action}_{model}",)


def url_names(patterns) -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= url_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


@pytest.fixture
def walk(organization, programs):
    """Signed-in clients of the five roles, and the rows whose pages the walk opens."""
    customer = create_customer(organization, points=300)
    issue_key(organization)
    with tenant_context(organization):
        users = {role: StaffUserFactory(email=f"{role}@example.com", role=role) for role in ROLES}
        target = StaffUserFactory(email="target@example.com", role=CASHIER)
        ShopFactory()
        promotion = Promotion.objects.create(title="Spring")
        vouchers_generate(promotion=promotion, count=1)
        batch = giftcard_batch_generate(name="Winter", count=1, currency="EUR", face_value=Decimal("10"))
        prepaid = PrepaidAccount.objects.create(customer=customer, currency="EUR")
        Reward.objects.create(name="Cake", required_credits=100)
        Tier.objects.create(name="Gold", threshold_points=1000)
        segment = Segment.objects.create(name="Regulars")
        EarningRule.objects.create(
            name="Double",
            applies_to="category",
            match_values="coffee",
            effect="multiplier",
            multiplier=Decimal("2"),
        )
        AttributeDefinition.objects.create(entity="promotion", name="colour", label="Colour", kind="text")
        endpoint, _secret = endpoint_create(
            url="http://127.0.0.1:9/hook", description="", event_types=["*"], staff_user=users[OWNER]
        )
        delivery = test_event_send(endpoint=endpoint, staff_user=users[OWNER])
        audit_record(actor=users[OWNER], action="walk", target=customer, details={})
        rows = {}
        for model in merchant_admin_site._registry:
            # Public-schema rows: the walker's organization's own.
            if model is ApiKey:
                first = ApiKey.objects.filter(organization=organization).first()
            elif model is Organization:
                first = organization
            else:
                first = model.objects.order_by("pk").first()
            if first is not None:
                rows[model._meta.label_lower] = first.pk
        arguments = {
            "user_id": target.pk,
            "customer_id": customer.pk,
            "card_id": customer.cards.first().pk,
            "batch_id": batch.pk,
            "giftcard_id": batch.giftcards.first().pk,
            "prepaid_id": prepaid.pk,
            "promotion_id": promotion.pk,
            "segment_id": segment.pk,
            "endpoint_id": endpoint.pk,
            "delivery_id": delivery.pk,
        }
    clients = {}
    for role in ROLES:
        client = HostClient(organization)
        assert client.login(email=f"{role}@example.com", password=PASSWORD)
        clients[role] = client
    return clients, rows, arguments


def pages(rows: dict, arguments: dict) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(name, URL, permissions; None for pages every staff member may open)."""
    found = []
    for model in merchant_admin_site._registry:
        label = model._meta.label_lower
        prefix = f"merchant_admin:{model._meta.app_label}_{model._meta.model_name}"
        for page in STANDARD_PAGES:
            if page in ("changelist", "add"):
                url = reverse(f"{prefix}_{page}")
            elif label in rows:
                url = reverse(f"{prefix}_{page}", args=[rows[label]])
            else:
                continue
            found.append((f"{label} {page}", url, model_page_permissions(label, page)))
    for name, (permissions, argument_names) in CUSTOM_PAGES.items():
        # "kwarg=value" where the URL's argument name is not the value's.
        pairs = [name.partition("=")[::2] for name in argument_names]
        kwargs = {kwarg: arguments[value or kwarg] for kwarg, value in pairs}
        url = reverse(f"merchant_admin:{name}", kwargs=kwargs)
        found.append((name, url, permissions))
    for name in sorted(EVERY_STAFF_PAGES):
        found.append((name, reverse(f"merchant_admin:{name}"), None))
    return found


def test_every_portal_page_is_walked_or_says_why_not():
    standard = {
        f"{model._meta.app_label}_{model._meta.model_name}_{page}"
        for model in merchant_admin_site._registry
        for page in STANDARD_PAGES
    }
    custom = url_names(merchant_admin_site.get_urls()) - standard

    assert sorted(custom - set(CUSTOM_PAGES) - EVERY_STAFF_PAGES - set(NOT_WALKED)) == []
    assert sorted((set(CUSTOM_PAGES) | EVERY_STAFF_PAGES) - custom) == []


def test_each_role_opens_exactly_the_pages_its_permissions_allow(walk):
    clients, rows, arguments = walk
    registered = {model._meta.label_lower for model in merchant_admin_site._registry}
    assert sorted(registered - set(rows)) == sorted(MODELS_WITHOUT_A_ROW)

    unexpected = []
    walked = 0
    for name, url, permissions in pages(rows, arguments):
        allowed = clients[OWNER].get(url).status_code
        assert allowed != 403 or permissions is not None, f"{name}: every staff member may open it"
        for role in (MANAGER, CASHIER, MARKETING, DEVELOPER):
            may = permissions is None or holds(role, permissions)
            expected = allowed if may else 403
            if name == "index" and not holds(role, ("accounts.view_dashboard",)):
                expected = 302  # the landing page of who may not see the dashboard: the till
            got = clients[role].get(url).status_code
            walked += 1
            if got != expected:
                unexpected.append(f"{role} {name} {url}: {got}, expected {expected}")

    assert unexpected == []
    assert walked > 250
    # A cashier lands on the till.
    assert clients[CASHIER].get(reverse("merchant_admin:index"))["Location"] == reverse("merchant_admin:till")
