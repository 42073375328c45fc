"""Staff changes to customers, cards, giftcards and vouchers: each service writes its audit
record in the same transaction, and a refused call changes nothing, audit log included."""

import pytest
from django.db import transaction

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core.errors import DomainError
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_issue
from loyalty_platform.customers.models import Customer, LoginLink
from loyalty_platform.customers.services import (
    card_block,
    card_unblock,
    customer_block,
    customer_data_export,
    customer_erase,
    customer_unblock,
    customer_update,
)
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry
from loyalty_platform.stored_value.services import (
    giftcard_batch_generate,
    giftcard_block,
    giftcard_unblock,
)
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import voucher_void, vouchers_age
from tests.pos_fixtures import create_customer


@pytest.fixture
def actor(in_organization) -> User:
    return User.objects.create_user("manager@example.com", "pw", is_staff=True)


def refused(code: str, call) -> None:
    with pytest.raises(DomainError, match=f"^{code}$"), transaction.atomic():
        call()


def audit_rows() -> list[tuple]:
    return list(
        AuditLogEntry.objects.order_by("pk").values_list(
            "actor__email", "action", "target_type", "target_id", "details"
        )
    )


def state(model, pk) -> tuple:
    row = model.objects.get(pk=pk)
    return row.status, getattr(row, "updated_at", None)


def test_customer_block_and_unblock_are_audited(organization, programs, actor):
    customer = create_customer(organization, points=10)

    blocked = customer_block(customer=customer, actor=actor, reason=" Fraud at the till ")

    assert (blocked.status, Customer.objects.get(pk=customer.pk).status, customer.status) == ("blocked",) * 3
    unblocked = customer_unblock(customer=customer, actor=actor, reason="Cleared")
    assert unblocked.status == "active"
    assert audit_rows() == [
        (
            "manager@example.com",
            "customers.block",
            "customers.Customer",
            str(customer.pk),
            {"reason": "Fraud at the till", "changes": {"status": ["active", "blocked"]}},
        ),
        (
            "manager@example.com",
            "customers.unblock",
            "customers.Customer",
            str(customer.pk),
            {"reason": "Cleared", "changes": {"status": ["blocked", "active"]}},
        ),
    ]


def test_refused_customer_blocks_change_nothing(organization, programs, actor):
    customer = create_customer(organization)
    refused("not_blocked", lambda: customer_unblock(customer=customer, actor=actor, reason="x"))
    refused("reason_required", lambda: customer_block(customer=customer, actor=actor, reason="  "))
    customer_block(customer=customer, actor=actor, reason="first")
    before = (state(Customer, customer.pk), audit_rows())

    refused("already_blocked", lambda: customer_block(customer=customer, actor=actor, reason="again"))

    assert (state(Customer, customer.pk), audit_rows()) == before
    assert len(before[1]) == 1


def test_an_erased_customer_cannot_be_blocked_or_unblocked(organization, programs, actor):
    customer = create_customer(organization)
    customer_erase(customer=customer, actor=actor, reason="Asked by email")
    before = (state(Customer, customer.pk), audit_rows())

    refused("customer_erased", lambda: customer_block(customer=customer, actor=actor, reason="x"))
    refused("customer_erased", lambda: customer_unblock(customer=customer, actor=actor, reason="x"))

    assert (state(Customer, customer.pk), audit_rows()) == before


def test_card_block_and_unblock_are_audited_and_refusals_change_nothing(organization, programs, actor):
    customer = create_customer(organization, points=10, stamps=2)
    card = Card.objects.get(customer=customer, program__kind="point")
    other = Card.objects.get(customer=customer, program__kind="stamp")

    card_block(card=card, actor=actor, reason="Card reported stolen")
    before = (state(Card, card.pk), audit_rows())
    refused("already_blocked", lambda: card_block(card=card, actor=actor, reason="again"))
    refused("not_blocked", lambda: card_unblock(card=other, actor=actor, reason="x"))
    assert (state(Card, card.pk), audit_rows()) == before
    card_unblock(card=card, actor=actor, reason="Found again")

    assert (Card.objects.get(pk=card.pk).status, Card.objects.get(pk=other.pk).status) == ("active", "active")
    assert [row[1:] for row in audit_rows()] == [
        (
            "cards.block",
            "programs.Card",
            str(card.pk),
            {"reason": "Card reported stolen", "changes": {"status": ["active", "blocked"]}},
        ),
        (
            "cards.unblock",
            "programs.Card",
            str(card.pk),
            {"reason": "Found again", "changes": {"status": ["blocked", "active"]}},
        ),
    ]


def test_giftcard_block_and_unblock_restore_the_status_it_had(in_organization, actor):
    never_loaded, loaded = giftcard_batch_generate(name="b", count=2, currency="EUR").giftcards.order_by("pk")
    MoneyEntry.objects.create(giftcard=loaded, amount=10, balance_after=10, cause="load")
    Giftcard.objects.filter(pk=loaded.pk).update(status="active", balance=10)
    loaded.refresh_from_db()

    for card in (never_loaded, loaded):
        giftcard_block(giftcard=card, actor=actor, reason="Batch misprinted")
    before = (state(Giftcard, loaded.pk), audit_rows())
    refused("already_blocked", lambda: giftcard_block(giftcard=loaded, actor=actor, reason="again"))
    refused("reason_required", lambda: giftcard_unblock(giftcard=loaded, actor=actor, reason=""))
    assert (state(Giftcard, loaded.pk), audit_rows()) == before
    for card in (never_loaded, loaded):
        giftcard_unblock(giftcard=card, actor=actor, reason="Reprinted")

    assert [Giftcard.objects.get(pk=c.pk).status for c in (never_loaded, loaded)] == ["inactive", "active"]
    assert [(row[1], row[3], row[4]["changes"]) for row in audit_rows()] == [
        ("giftcards.block", str(never_loaded.pk), {"status": ["inactive", "blocked"]}),
        ("giftcards.block", str(loaded.pk), {"status": ["active", "blocked"]}),
        ("giftcards.unblock", str(never_loaded.pk), {"status": ["blocked", "inactive"]}),
        ("giftcards.unblock", str(loaded.pk), {"status": ["blocked", "active"]}),
    ]
    refused("not_blocked", lambda: giftcard_unblock(giftcard=loaded, actor=actor, reason="x"))


def test_voucher_void_is_audited_and_a_second_void_changes_nothing(in_organization, actor):
    voucher = Voucher.objects.create(promotion=Promotion.objects.create(title="Spring"), code="SPRING2026")

    voucher_void(voucher=voucher, actor=actor, reason="Leaked on a forum")
    before = (state(Voucher, voucher.pk), audit_rows())
    refused("voucher_not_active", lambda: voucher_void(voucher=voucher, actor=actor, reason="again"))

    assert (state(Voucher, voucher.pk), audit_rows()) == before
    assert before == (
        ("void", None),
        [
            (
                "manager@example.com",
                "vouchers.void",
                "vouchers.Voucher",
                str(voucher.pk),
                {"reason": "Leaked on a forum", "changes": {"status": ["active", "void"]}},
            )
        ],
    )


def test_customer_update_records_what_changed_and_nothing_when_nothing_did(organization, programs, actor):
    customer = create_customer(organization)

    customer_update(customer=customer, actor=actor, name="Ann Lee", phone="+31 6 1234 5678")
    customer_update(customer=customer, actor=actor, name="Ann Lee", phone="+31612345678")
    refused("phone_invalid", lambda: customer_update(customer=customer, actor=actor, name="X", phone="12"))

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.phone) == ("Ann Lee", "+31612345678")
    assert [(row[1], row[4]) for row in audit_rows()] == [
        ("customers.update", {"changes": {"name": ["", "Ann Lee"], "phone": ["", "+31612345678"]}})
    ]


def test_erase_anonymizes_keeps_the_books_and_is_audited_once(organization, programs, actor):
    customer = create_customer(organization, email="ann@example.com", points=30)
    Customer.objects.filter(pk=customer.pk).update(name="Ann", phone="+31612345678")
    coupon = coupon_issue(customer=customer, program=programs["stamp"])
    gift = giftcard_batch_generate(name="g", count=1, currency="EUR").giftcards.get()
    Giftcard.objects.filter(pk=gift.pk).update(recipient_email="ANN@example.com", recipient_name="Ann")
    LoginLink.objects.create(customer=customer, token_hash="h" * 64, expires_at="2030-01-01T00:00:00Z")
    entries = list(LedgerEntry.objects.filter(card__customer=customer).values_list("pk", "delta"))

    customer_erase(customer=customer, actor=actor, reason="GDPR request #12")

    erased = Customer.objects.get(pk=customer.pk)
    assert (erased.status, erased.name, erased.phone, erased.email, erased.consent_marketing_at) == (
        "deleted",
        "",
        "",
        f"deleted-{customer.pk}@deleted.invalid",
        None,
    )
    assert list(LedgerEntry.objects.filter(card__customer=customer).values_list("pk", "delta")) == entries
    assert Coupon.objects.get(pk=coupon.pk).status == "void"
    assert Giftcard.objects.filter(pk=gift.pk).values_list("recipient_email", "recipient_name").get() == (
        "",
        "",
    )
    assert not LoginLink.objects.filter(customer=customer).exists()
    assert [(row[1], row[4]) for row in audit_rows()] == [
        (
            "customers.erase",
            {
                "by": "staff",
                "reason": "GDPR request #12",
                "coupons_voided": 1,
                "vouchers_voided": 0,
                "giftcards_anonymized": 1,
            },
        )
    ]
    # The audit row names the customer without the email they asked to have erased.
    assert "ann@example.com" not in AuditLogEntry.objects.get(action="customers.erase").target_repr.lower()
    before = audit_rows()
    refused("customer_erased", lambda: customer_erase(customer=customer, actor=actor))
    assert audit_rows() == before


def test_data_export_holds_every_section_and_is_audited(organization, programs, actor):
    customer = create_customer(organization, email="bo@example.com", points=30)
    coupon_issue(customer=customer, program=programs["stamp"])
    customer.refresh_from_db()

    data = customer_data_export(customer=customer, actor=actor)

    assert sorted(data) == [
        "cards",
        "consents",
        "coupons",
        "customer",
        "giftcards",
        "orders",
        "pin_challenges",
        "prepaid",
        "returns",
        "reward_receptions",
        "voucher_redemptions",
        "vouchers",
    ]
    assert (data["customer"]["email"], data["cards"][0]["entries"][0]["delta"], len(data["coupons"])) == (
        "bo@example.com",
        30,
        1,
    )
    assert [(row[1], row[3], row[4]) for row in audit_rows()] == [
        ("customers.data_export", str(customer.pk), {"cards": 2, "orders": 0})
    ]


def test_an_erased_customers_expired_voucher_stays_void_when_its_promotion_is_extended(
    organization, programs, actor
):
    customer = create_customer(organization)
    promotion = Promotion.objects.create(title="Cake", valid_until="2026-01-01T00:00:00Z")
    voucher = Voucher.objects.create(promotion=promotion, code="ERASED-EXPIRED", customer=customer)
    vouchers_age()
    assert Voucher.objects.get(pk=voucher.pk).status == "expired"

    customer_erase(customer=customer, actor=actor, reason="asked")
    Promotion.objects.filter(pk=promotion.pk).update(valid_until=None)
    vouchers_age()
    assert Voucher.objects.get(pk=voucher.pk).status == "void"
