from datetime import timedelta

import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.programs.models import LedgerEntry
from loyalty_platform.shops.models import Shop
from loyalty_platform.till.services import TILL_KEY_LIFETIME, till_key_issue, till_keys_revoke
from tenants.models import ApiKey
from tests.pos_fixtures import PosClient, create_customer
from tests.till.conftest import cashier_create


def issue(organization, user, shop):
    with tenant_context(organization):
        return till_key_issue(organization=organization, user=user, shop=shop)


def lookup(pos: PosClient, customer) -> int:
    return pos.get("/webhook/customer", {"code": customer.customer_code}).status_code


def test_a_till_key_is_scoped_to_the_staff_member_and_shop_and_audited(organization, cashier, shop):
    issued = issue(organization, cashier, shop)

    api_key = ApiKey.objects.get(pk=issued.api_key.pk)
    assert (api_key.organization_id, api_key.staff_user_id, api_key.shop_id) == (
        organization.pk,
        cashier.pk,
        shop.pk,
    )
    assert api_key.label == "Till: cashier@example.com @ Main street"
    assert api_key.expires_at - api_key.created_at == TILL_KEY_LIFETIME
    assert issued.secret_key.startswith(f"sk_live_{api_key.lookup_id}_")
    with tenant_context(organization):
        entry = AuditLogEntry.objects.get(action="till_key_issue")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        cashier.pk,
        "tenants.ApiKey",
        str(api_key.pk),
    )
    assert entry.details == {
        "lookup_id": api_key.lookup_id,
        "shop_id": shop.pk,
        "shop": "Main street",
        "expires_at": api_key.expires_at.isoformat(),
    }


def test_a_new_till_key_revokes_the_previous_one_at_once(organization, programs, cashier, shop):
    customer = create_customer(organization)
    first = issue(organization, cashier, shop)
    pos_first = PosClient("test-a.localhost", first.secret_key)
    assert lookup(pos_first, customer) == 200  # cached in this process and in Redis

    second = issue(organization, cashier, shop)

    assert lookup(pos_first, customer) == 401
    assert lookup(PosClient("test-a.localhost", second.secret_key), customer) == 200
    assert ApiKey.objects.get(pk=first.api_key.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=second.api_key.pk).revoked_at is None
    with tenant_context(organization):
        revocation = AuditLogEntry.objects.get(action="till_key_revoke")
    assert revocation.details == {"lookup_id": first.api_key.lookup_id, "reason": "replaced"}


def test_a_new_till_key_leaves_other_staff_and_other_keys_alone(organization, programs, cashier, shop, key_a):
    customer = create_customer(organization)
    colleague = cashier_create(organization, "colleague@example.com")
    theirs = issue(organization, colleague, shop)

    issue(organization, cashier, shop)
    issue(organization, cashier, shop)

    assert lookup(PosClient("test-a.localhost", theirs.secret_key), customer) == 200
    assert lookup(PosClient("test-a.localhost", key_a), customer) == 200
    assert ApiKey.objects.filter(staff_user_id=cashier.pk, revoked_at__isnull=True).count() == 1


def test_a_till_key_stops_working_when_it_expires_without_any_cache_clearing(
    organization, programs, cashier, shop
):
    customer = create_customer(organization)
    issued = issue(organization, cashier, shop)
    pos = PosClient("test-a.localhost", issued.secret_key)
    expires_at = issued.api_key.expires_at
    with time_machine.travel(expires_at - timedelta(seconds=1), tick=False):
        assert lookup(pos, customer) == 200  # now in this process's cache and in Redis

    with time_machine.travel(expires_at, tick=False):
        response = pos.get("/webhook/customer", {"code": customer.customer_code})

    assert response.status_code == 401
    assert response.json() == {"error": "invalid or missing API key"}


def test_an_expired_key_changes_nothing(organization, programs, cashier, shop):
    customer = create_customer(organization)
    issued = issue(organization, cashier, shop)
    pos = PosClient("test-a.localhost", issued.secret_key)
    body = {"customer_code": customer.customer_code, "amount": 10, "external_id": "till-expired"}

    with time_machine.travel(issued.api_key.expires_at + timedelta(minutes=1), tick=False):
        response = pos.post("/webhook/pos", body)

    assert response.status_code == 401
    with tenant_context(organization):
        assert not LedgerEntry.objects.filter(external_id="till-expired").exists()


def test_calls_with_a_till_key_are_attributed_to_it(organization, programs, cashier, shop):
    customer = create_customer(organization)
    issued = issue(organization, cashier, shop)
    pos = PosClient("test-a.localhost", issued.secret_key)

    response = pos.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 10, "external_id": "till-1"}
    )

    assert response.status_code == 200
    with tenant_context(organization):
        entry = LedgerEntry.objects.get(external_id="till-1")
    assert entry.api_key_lookup_id == issued.api_key.lookup_id


def test_a_till_key_of_one_organization_is_refused_on_anothers_host(
    organization, other_organization, programs, cashier, shop
):
    issued = issue(organization, cashier, shop)
    customer_b = create_customer(other_organization)

    response = PosClient("test-b.localhost", issued.secret_key).get(
        "/webhook/customer", {"code": customer_b.customer_code}
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid or missing API key"}


def test_logging_out_revokes_the_staff_members_till_keys(organization, programs, cashier, shop, client_a):
    customer = create_customer(organization)
    assert client_a.login(email="cashier@example.com", password="correct horse battery")
    issued = issue(organization, cashier, shop)
    pos = PosClient("test-a.localhost", issued.secret_key)
    assert lookup(pos, customer) == 200

    response = client_a.post("/admin/logout/")

    assert response.status_code in (200, 302)
    assert lookup(pos, customer) == 401
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None
    with tenant_context(organization):
        revocation = AuditLogEntry.objects.get(action="till_key_revoke")
    assert (revocation.actor_id, revocation.details["reason"]) == (cashier.pk, "logout")


def test_revoking_without_keys_records_nothing(organization, cashier):
    with tenant_context(organization):
        assert till_keys_revoke(organization=organization, user=cashier, reason="logout") == []
        assert not AuditLogEntry.objects.exists()


def test_a_same_id_user_of_another_organization_keeps_their_key(
    organization, other_organization, programs, cashier, shop
):
    # Staff ids repeat across schemas: the organization tells the two apart.
    with tenant_context(other_organization):
        other_shop = Shop.objects.create(name="Elsewhere")
    other = cashier_create(other_organization, "other@example.com")
    other_key = issue(other_organization, other, other_shop)
    ApiKey.objects.filter(pk=other_key.api_key.pk).update(staff_user_id=cashier.pk)
    customer_b = create_customer(other_organization)

    issue(organization, cashier, shop)

    assert lookup(PosClient("test-b.localhost", other_key.secret_key), customer_b) == 200
    assert ApiKey.objects.get(pk=other_key.api_key.pk).revoked_at is None
    assert timezone.now() < ApiKey.objects.get(pk=other_key.api_key.pk).expires_at
