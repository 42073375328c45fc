import csv
import io
from decimal import Decimal

from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.stored_value.codes import giftcard_code_normalize
from loyalty_platform.stored_value.models import Giftcard, GiftcardBatch, MoneyEntry
from tests.admin_portal.test_merchant_admin import staff_login


def test_staff_print_a_batch_and_export_it(organization, client_a):
    staff_login(client_a, organization)

    response = client_a.post(
        "/admin/stored_value/giftcardbatch/add/", {"name": "Spring", "count": 12, "expires_at": ""}
    )

    assert response.status_code == 302
    with tenant_context(organization):
        batch = GiftcardBatch.objects.get(name="Spring")
        codes = sorted(batch.giftcards.values_list("code", flat=True))
    assert len(codes) == 12
    export = client_a.get(f"/admin/stored_value/giftcardbatch/{batch.pk}/export.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["code", "status", "balance", "currency", "expires_at"]
    assert sorted(row[0] for row in rows[1:]) == codes
    assert all(row[1:4] == ["inactive", "0.00", "EUR"] for row in rows[1:])
    assert all(giftcard_code_normalize(code) == code for code in codes)
    sheet = client_a.get(f"/admin/stored_value/giftcardbatch/{batch.pk}/sheet/").content.decode()
    assert sheet.count("<svg") == 12 and all(code in sheet for code in codes)


def test_a_batch_of_zero_cards_is_refused(organization, client_a):
    staff_login(client_a, organization)
    response = client_a.post("/admin/stored_value/giftcardbatch/add/", {"name": "None", "count": 0})
    assert response.status_code == 200
    with tenant_context(organization):
        assert not GiftcardBatch.objects.exists()


def test_adjustment_needs_a_reason_goes_through_the_ledger_and_is_audited(organization, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        from loyalty_platform.stored_value.services import giftcard_batch_generate

        card = giftcard_batch_generate(name="x", count=1, currency="EUR").giftcards.get()
    url = f"/admin/stored_value/giftcard/{card.pk}/adjust/"

    missing_reason = client_a.post(url, {"amount": "10.00", "reason": ""})
    overdraw = client_a.post(url, {"amount": "-1.00", "reason": "oops"})
    done = client_a.post(url, {"amount": "10.00", "reason": "Compensation for a broken card"})

    assert missing_reason.status_code == 200 and overdraw.status_code == 200
    assert "insufficient balance" in overdraw.content.decode()
    assert done.status_code == 302
    with tenant_context(organization):
        card.refresh_from_db()
        entry = MoneyEntry.objects.get(giftcard=card)
        audit = AuditLogEntry.objects.get()
    assert card.balance == Decimal("10.00")
    assert (entry.cause, entry.amount, entry.note, entry.staff_user.email) == (
        "adjust",
        Decimal("10.00"),
        "Compensation for a broken card",
        "owner@example.com",
    )
    assert (audit.action, audit.target_id, audit.details["reason"]) == (
        "stored_value.adjust",
        str(card.pk),
        "Compensation for a broken card",
    )


def test_block_action(organization, client_a):
    staff_login(client_a, organization)
    with tenant_context(organization):
        from loyalty_platform.stored_value.services import giftcard_batch_generate

        card = giftcard_batch_generate(name="x", count=1, currency="EUR").giftcards.get()

    client_a.post(
        "/admin/stored_value/giftcard/", {"action": "block", "_selected_action": [card.pk], "reason": "Lost"}
    )

    with tenant_context(organization):
        assert Giftcard.objects.get(pk=card.pk).status == "blocked"
