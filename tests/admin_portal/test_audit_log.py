"""The audit log reader: owners filter it by actor, action, target type and date range and
read what changed; staff without `accounts.view_auditlog` get 403."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.customers.services import customer_block, customer_update
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import voucher_void
from tests.admin_portal.test_customer_pages import owner_login, plain_staff_login
from tests.pos_fixtures import create_customer

LOG = "/admin/audit/auditlogentry/"


@pytest.fixture
def entries(organization, programs, client_a):
    """Three entries by two staff members on two days."""
    owner = owner_login(client_a, organization)
    customer = create_customer(organization, email="log@example.com")
    with tenant_context(organization):
        manager = User.objects.create_user("manager@example.com", "pw", is_staff=True)
        customer_block(customer=customer, actor=owner, reason="Chargeback")
        customer_update(customer=customer, actor=manager, name="Lou", phone="")
        voucher = Voucher.objects.create(promotion=Promotion.objects.create(title="P"), code="LOGCODE1")
        voucher_void(voucher=voucher, actor=manager, reason="Leaked")
        first, second, third = AuditLogEntry.objects.order_by("pk")
        AuditLogEntry.objects.filter(pk=first.pk).update(created_at=datetime(2026, 5, 1, 9, tzinfo=UTC))
        AuditLogEntry.objects.filter(pk__in=[second.pk, third.pk]).update(
            created_at=datetime(2026, 5, 3, 9, tzinfo=UTC)
        )
    return owner, manager, [first.pk, second.pk, third.pk]


def shown(response) -> list[int]:
    assert response.status_code == 200
    return sorted(entry.pk for entry in response.context["cl"].result_list)


def test_owners_filter_the_log_by_action_target_actor_date_and_search(client_a, entries):
    _, manager, (block, update, void) = entries

    assert shown(client_a.get(LOG)) == [block, update, void]
    assert shown(client_a.get(LOG, {"action": "customers.block"})) == [block]
    assert shown(client_a.get(LOG, {"target_type": "vouchers.Voucher"})) == [void]
    assert shown(client_a.get(LOG, {"actor__id__exact": manager.pk})) == [update, void]
    assert shown(client_a.get(LOG, {"created_from": "2026-05-02"})) == [update, void]
    assert shown(client_a.get(LOG, {"created_from": "2026-05-01", "created_to": "2026-05-01"})) == [block]
    assert shown(client_a.get(LOG, {"created_at__month": "5", "created_at__year": "2026"})) == [
        block,
        update,
        void,
    ]
    assert shown(client_a.get(LOG, {"q": "LOGCODE1"})) == [void]
    assert shown(client_a.get(LOG, {"q": "manager@example.com", "created_to": "2026-05-02"})) == []


def test_the_log_says_what_changed(client_a, entries):
    html = client_a.get(LOG).content.decode()

    assert "<strong>status</strong>: active → blocked; <strong>reason</strong>: Chargeback" in html
    assert "<strong>name</strong>: — → Lou" in html
    assert all(label in html for label in ("Blocked a customer", "Edited a customer", "Voided a voucher"))


def test_a_date_that_is_not_one_is_refused_with_a_code(client_a, entries):
    for bad in ({"created_from": "May 1st"}, {"created_to": "2026-13-01"}, {"created_to": "9999-12-31"}):
        response = client_a.get(LOG, bad)
        assert response.status_code == 400
        assert 'data-error="date_invalid"' in response.content.decode()


def test_staff_without_the_permission_neither_see_nor_read_the_log(client_a, organization):
    plain_staff_login(client_a, organization)

    assert client_a.get(LOG).status_code == 403
    assert client_a.get(f"{LOG}1/change/").status_code == 403
    index = client_a.get("/admin/")
    assert index.status_code == 200 and "auditlogentry" not in index.content.decode()
