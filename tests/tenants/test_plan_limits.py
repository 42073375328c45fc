"""Plan limits: each limit allows N and refuses the N+1st with plan_limit_reached (402 in the
API, a sentence in the portal) and creates nothing, on every path that creates; two
creations racing for the last place cannot both pass."""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.services import (
    staff_deactivate,
    staff_invite,
    staff_reactivate,
    staff_user_create,
)
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.csv_files import customers_import, parse_customers_csv
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.shops.models import Shop
from loyalty_platform.shops.services import shop_create
from loyalty_platform.till.services import till_key_issue
from tenants import limit_admin
from tenants.lifecycle import support_account_ensure
from tenants.limits import plan_limit_message
from tenants.models import ApiKey, Organization, Plan, Subscription
from tenants.selectors import organization_plan
from tenants.services import api_key_create, api_key_revoke
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.pos_fixtures import create_customer

PASSWORD = "correct horse battery"
_plan_numbers = itertools.count()


def put_on_plan(organization, **limits) -> Plan:
    plan = Plan.objects.create(code=f"small-{next(_plan_numbers)}", name="Small", **limits)
    for subscription in Subscription.objects.filter(organization=organization):
        subscription.plan = plan
        subscription.save()  # its signal forgets the cached periods
    return plan


def refusal(limit: str, allowed: int) -> dict:
    return {"error": "plan_limit_reached", "limit": limit, "allowed": allowed}


def refused(call) -> dict:
    with pytest.raises(DomainError) as error:
        call()
    return {"error": error.value.code, **error.value.extra}


def owner_login(client, organization, email="owner@example.com") -> User:
    with tenant_context(organization):
        owner = StaffUserFactory(email=email)
    assert client.login(email=email, password=PASSWORD)
    return owner


def members(organization) -> int:
    with tenant_context(organization):
        return Customer.objects.count()


def enroll(email: str):
    return customer_enroll(email=email, consent_terms=True, consent_privacy=True)


# --- The plan in force ------------------------------------------------------------------------


def test_the_plan_is_the_one_of_the_subscription_covering_now_and_edits_reach_it(organization):
    plan = put_on_plan(organization, max_shops=1)
    assert organization_plan(organization=organization).max_shops == 1

    plan.max_shops = 3
    plan.save()

    assert organization_plan(organization=organization).max_shops == 3
    Subscription.objects.filter(organization=organization).delete()
    assert organization_plan(organization=organization) is None


def test_without_a_limit_nothing_is_counted(organization, in_organization):
    put_on_plan(organization)  # every limit empty

    shops = [shop_create(name=f"Shop {index}") for index in range(3)]

    assert len(shops) == Shop.objects.count() == 3


# --- Customers --------------------------------------------------------------------------------


def enroll_body(email: str) -> dict:
    return {"email": email, "consent_terms": True, "consent_privacy": True}


def test_the_api_enrolls_up_to_the_limit_then_answers_402(organization, other_organization, programs, pos):
    create_customer(organization)
    put_on_plan(organization, max_customers=2)

    first = pos.post("/webhook/customer", enroll_body("second@example.com"))
    second = pos.post("/webhook/customer", enroll_body("third@example.com"))

    assert first.status_code == 200
    assert (second.status_code, second.json()) == (402, refusal("customers", 2))
    assert members(organization) == 2
    # A known customer is found, not created: no limit applies.
    again = pos.post("/webhook/customer", enroll_body("SECOND@example.com"))
    assert (again.status_code, again.json()["data"]["is_new"]) == (200, False)
    # The other organization's plan is its own.
    with tenant_context(other_organization):
        enroll("b@example.com")
    assert members(other_organization) == 1


def test_erased_customers_do_not_count(organization, in_organization):
    put_on_plan(organization, max_customers=1)
    customer, _ = enroll("gone@example.com")
    assert refused(lambda: enroll("next@example.com")) == refusal("customers", 1)

    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.DELETED)

    assert enroll("next@example.com")[1] is True


def test_profile_sign_up_at_the_limit_says_so_and_creates_nothing(organization, programs):
    create_customer(organization)
    put_on_plan(organization, max_customers=1)

    response = HostClient(organization).post(
        "/me/signup", {"email": "new@example.com", "consent_terms": "on", "consent_privacy": "on"}
    )

    assert response.status_code == 422
    assert "cannot take new members at the moment" in response.content.decode()
    assert members(organization) == 1


CSV = "email,name\nnew1@example.com,One\nnew2@example.com,Two\nnew3@example.com,Three\n"


def test_an_import_that_would_pass_the_limit_is_refused_whole(organization, in_organization):
    create_customer(organization)
    put_on_plan(organization, max_customers=3)
    rows = parse_customers_csv(CSV.encode())

    assert refused(lambda: customers_import(rows, actor=None, apply=True)) == refusal("customers", 3)
    assert Customer.objects.count() == 1

    put_on_plan(organization, max_customers=4)
    assert customers_import(rows, actor=None, apply=True).counts()["created"] == 3
    assert Customer.objects.count() == 4


def test_the_portal_s_import_says_which_limit_and_creates_nothing(organization, client_a):
    owner_login(client_a, organization)
    put_on_plan(organization, max_customers=2)
    upload = SimpleUploadedFile("customers.csv", CSV.encode(), content_type="text/csv")
    preview = client_a.post("/admin/customers/customer/import/", {"file": upload, "consents_confirmed": "on"})

    response = client_a.post("/admin/customers/customer/import/confirm/", {"token": preview.context["token"]})

    assert response.status_code == 402
    page = response.content.decode()
    assert "Your plan allows 2 customers and this organization has reached it" in page
    assert 'data-error="plan_limit_reached"' in page
    assert members(organization) == 0


# --- API keys ---------------------------------------------------------------------------------


def test_live_api_keys_up_to_the_limit_revoked_and_till_keys_left_out(organization, in_organization):
    put_on_plan(organization, max_api_keys=2)
    first = api_key_create(organization=organization, label="one").api_key
    api_key_create(organization=organization, label="two")

    assert refused(lambda: api_key_create(organization=organization, label="three")) == refusal("api_keys", 2)
    assert ApiKey.objects.filter(organization=organization).count() == 2

    # A browser till's key is not one of the plan's keys.
    cashier = StaffUserFactory(email="cashier@example.com")
    till_key_issue(organization=organization, user=cashier, shop=shop_create(name="Main"))
    # A revoked key frees its place.
    api_key_revoke(api_key=first)
    api_key_create(organization=organization, label="three")
    assert ApiKey.objects.filter(organization=organization, revoked_at__isnull=True).count() == 3


def test_the_portal_s_key_page_says_which_limit_and_creates_nothing(organization, client_a):
    owner_login(client_a, organization)
    put_on_plan(organization, max_api_keys=0)

    response = client_a.post(
        "/admin/tenants/apikey/add/", {"label": "Till 2", "shop_id": "", "rate_limits": "{}"}
    )

    assert response.status_code == 200
    assert "Your plan allows 0 API keys and this organization has reached it" in response.content.decode()
    assert "sk_live_" not in response.content.decode()
    assert not ApiKey.objects.filter(organization=organization).exists()


# --- Shops ------------------------------------------------------------------------------------


def test_shops_up_to_the_limit(organization, in_organization):
    put_on_plan(organization, max_shops=1)
    shop_create(name="Main")

    assert refused(lambda: shop_create(name="Second")) == refusal("shops", 1)
    assert list(Shop.objects.values_list("name", flat=True)) == ["Main"]


def test_the_portal_s_shop_page_says_which_limit_and_creates_nothing(organization, client_a):
    owner_login(client_a, organization)
    put_on_plan(organization, max_shops=1)
    added = client_a.post("/admin/shops/shop/add/", {"name": "Main", "address": "", "is_active": "on"})
    assert added.status_code == 302

    response = client_a.post("/admin/shops/shop/add/", {"name": "Second", "address": "", "is_active": "on"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your plan allows 1 shop and this organization has reached it, so nothing was added" in page
    assert "ask the platform operator for a larger plan" in page
    with tenant_context(organization):
        assert list(Shop.objects.values_list("name", flat=True)) == ["Main"]


def test_a_shop_page_that_lost_the_race_for_the_last_place_says_so_instead_of_failing(
    organization, client_a, monkeypatch
):
    """The form's early check saw room (here: skipped), the service's reserve did not."""
    owner_login(client_a, organization)
    put_on_plan(organization, max_shops=0)
    monkeypatch.setattr(limit_admin, "plan_limit_check", lambda **kwargs: None)

    response = client_a.post(
        "/admin/shops/shop/add/", {"name": "Late", "address": "", "is_active": "on"}, follow=True
    )

    assert response.redirect_chain == [("/admin/shops/shop/", 302)]
    assert "Your plan allows 0 shops and this organization has reached it" in response.content.decode()
    with tenant_context(organization):
        assert not Shop.objects.exists()
        assert not AuditLogEntry.objects.filter(action="admin_add").exists()


# --- Staff ------------------------------------------------------------------------------------


def test_active_staff_up_to_the_limit_on_every_path(organization, in_organization):
    put_on_plan(organization, max_staff=2)
    owner = StaffUserFactory(email="owner@example.com")
    staff_invite(organization=organization, email="one@example.com", role="cashier", invited_by=owner)

    assert refused(
        lambda: staff_invite(
            organization=organization, email="two@example.com", role="cashier", invited_by=owner
        )
    ) == refusal("staff", 2)
    assert refused(lambda: staff_user_create(email="three@example.com", password=PASSWORD)) == refusal(
        "staff", 2
    )
    assert sorted(User.objects.values_list("email", flat=True)) == ["one@example.com", "owner@example.com"]

    # A deactivated account frees its seat; reactivating it needs one again.
    one = User.objects.get(email="one@example.com")
    staff_deactivate(user=one, actor=owner)
    staff_user_create(email="three@example.com", password=PASSWORD, role="cashier")
    assert refused(lambda: staff_reactivate(user=one, actor=owner)) == refusal("staff", 2)
    one.refresh_from_db()
    assert one.is_active is False


def test_the_portal_s_invite_page_says_which_limit_and_invites_nobody(organization, client_a, mailoutbox):
    owner_login(client_a, organization)
    put_on_plan(organization, max_staff=1)

    response = client_a.post("/admin/accounts/user/invite/", {"email": "new@example.com", "role": "cashier"})

    assert response.status_code == 200
    assert "Your plan allows 1 active staff account and this organization has reached it" in (
        response.content.decode()
    )
    with tenant_context(organization):
        assert list(User.objects.values_list("email", flat=True)) == ["owner@example.com"]
    assert mailoutbox == []


def test_the_message_names_the_limit_and_the_way_to_raise_it():
    assert plan_limit_message(errors.PLAN_LIMIT_REACHED(limit="customers", allowed=100)) == (
        "Your plan allows 100 customers and this organization has reached it, so nothing was added. "
        "Remove one you no longer need, or ask the platform operator for a larger plan (see Plan and usage)."
    )


# --- The owner's page -------------------------------------------------------------------------


def test_the_plan_and_usage_page_shows_each_limit_with_its_use(organization, client_a):
    owner_login(client_a, organization)
    put_on_plan(organization, max_customers=100, max_shops=1)
    create_customer(organization)
    with tenant_context(organization):
        shop_create(name="Main")

    response = client_a.get("/admin/plan/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "on the Small plan" in page
    assert [(limit.name, limit.used, limit.allowed) for limit in response.context["limits"]] == [
        ("customers", 1, 100),
        ("api_keys", 0, None),
        ("shops", 1, 1),
        ("staff", 1, None),
    ]
    assert "(reached)" in page


def test_staff_without_the_organization_settings_cannot_open_the_plan_page(organization, client_a):
    with tenant_context(organization):
        StaffUserFactory(email="cashier@example.com", role="cashier")
    assert client_a.login(email="cashier@example.com", password=PASSWORD)

    assert client_a.get("/admin/plan/").status_code == 403


# --- Races ------------------------------------------------------------------------------------

RACERS = 8


@pytest.mark.parametrize("limit", ["shops", "customers"])
def test_creations_racing_for_the_last_place_let_exactly_one_in(committed_db, limit):
    """RACERS threads, each on its own connection, start together at limit-1: one gets the
    place, every other one is refused, and the count ends at the limit."""
    organization = Organization.objects.get(slug="test-a")
    model = Shop if limit == "shops" else Customer
    with tenant_context(organization):
        # Committed tests before this one may have left rows in the session's organization.
        before = model.objects.exclude(
            **({"status": Customer.Status.DELETED} if model is Customer else {})
        ).count()
    previous_plans = dict(Subscription.objects.filter(organization=organization).values_list("pk", "plan_id"))
    plan = Plan.objects.create(code=f"race-{limit}", name="Race", **{f"max_{limit}": before + 2})
    for subscription in Subscription.objects.filter(organization=organization):
        subscription.plan = plan
        subscription.save()
    create = {
        "shops": lambda index: shop_create(name=f"Race {index}"),
        "customers": lambda index: enroll(f"race{index}@example.com"),
    }[limit]
    start = threading.Barrier(RACERS)

    def racer(index: int) -> str:
        try:
            with tenant_context(organization):
                start.wait(timeout=10)
                try:
                    create(index)
                except DomainError as error:
                    return error.code
                return "created"
        finally:
            connections.close_all()

    try:
        with tenant_context(organization):
            create(0)  # limit-1 in place
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            outcomes = list(pool.map(racer, range(1, RACERS + 1)))
        with tenant_context(organization):
            count = model.objects.exclude(
                **({"status": Customer.Status.DELETED} if model is Customer else {})
            ).count()
    finally:
        with tenant_context(organization):
            Shop.objects.filter(name__startswith="Race ").delete()
            Customer.objects.filter(email__startswith="race").delete()
        for pk, plan_id in previous_plans.items():
            subscription = Subscription.objects.get(pk=pk)
            subscription.plan_id = plan_id
            subscription.save()
        plan.delete()

    assert sorted(outcomes) == ["created"] + ["plan_limit_reached"] * (RACERS - 1)
    assert count == before + 2


def test_an_operators_support_account_takes_no_staff_seat(organization):
    """A support visit must not use up the merchant's plan (nor be refused by it)."""
    put_on_plan(organization, max_staff=2)
    with tenant_context(organization):
        owner = StaffUserFactory(email="owner@example.com")
    operator = User.objects.create_superuser(email="operator@platform.example", password=PASSWORD)
    support_account_ensure(organization=organization, operator=operator)
    with tenant_context(organization):
        staff_invite(organization=organization, email="one@example.com", role="cashier", invited_by=owner)
        assert sorted(User.objects.values_list("email", "is_platform_support")) == [
            ("one@example.com", False),
            ("operator@platform.example", True),
            ("owner@example.com", False),
        ]


def test_one_email_enrolling_at_once_at_the_last_place_is_one_customer_never_refused(committed_db):
    """customer_enroll promises the existing customer for an email enrolled meanwhile: the
    racers that wait on the limit's lock find the winner's row, not plan_limit_reached."""
    organization = Organization.objects.get(slug="test-a")
    with tenant_context(organization):
        before = Customer.objects.exclude(status=Customer.Status.DELETED).count()
    previous_plans = dict(Subscription.objects.filter(organization=organization).values_list("pk", "plan_id"))
    plan = Plan.objects.create(code="race-same-email", name="Race", max_customers=before + 1)
    for subscription in Subscription.objects.filter(organization=organization):
        subscription.plan = plan
        subscription.save()
    start = threading.Barrier(RACERS)

    def racer(_index: int):
        try:
            with tenant_context(organization):
                start.wait(timeout=10)
                try:
                    return enroll("race-same@example.com")[0].pk
                except DomainError as error:
                    return error.code
        finally:
            connections.close_all()

    try:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            outcomes = list(pool.map(racer, range(RACERS)))
        with tenant_context(organization):
            customer = Customer.objects.get(email="race-same@example.com")
    finally:
        with tenant_context(organization):
            Customer.objects.filter(email="race-same@example.com").delete()
        for pk, plan_id in previous_plans.items():
            subscription = Subscription.objects.get(pk=pk)
            subscription.plan_id = plan_id
            subscription.save()
        plan.delete()

    assert outcomes == [customer.pk] * RACERS
