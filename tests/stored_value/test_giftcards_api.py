from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.stored_value.codes import ALPHABET, check_character, giftcard_code_normalize
from loyalty_platform.stored_value.emails import giftcard_email_send
from loyalty_platform.stored_value.models import Giftcard, MoneyEntry
from loyalty_platform.stored_value.services import giftcard_batch_generate


def snapshot(organization) -> dict:
    with tenant_context(organization):
        return {
            "cards": list(Giftcard.objects.order_by("pk").values_list("code", "status", "balance")),
            "entries": MoneyEntry.objects.count(),
        }


def new_card(organization, **fields) -> Giftcard:
    with tenant_context(organization):
        card = giftcard_batch_generate(name="test", count=1, currency="EUR").giftcards.get()
        if fields:
            Giftcard.objects.filter(pk=card.pk).update(**fields)
            card.refresh_from_db()
    return card


def transact(pos, card, amount, external_id="t-1", **fields):
    return pos.post(
        f"/webhook/giftcards/{card.code}/transactions",
        {"amount": amount, "external_id": external_id, **fields},
    )


def ledger_ok(organization, card) -> tuple[Decimal, Decimal]:
    with tenant_context(organization):
        card.refresh_from_db()
        total = sum(card.entries.values_list("amount", flat=True), Decimal("0"))
    return card.balance, total


def test_batch_cards_are_inactive_empty_and_have_valid_codes(organization):
    with tenant_context(organization):
        batch = giftcard_batch_generate(name="Christmas", count=25, currency="EUR")
        cards = list(batch.giftcards.all())
    assert len(cards) == 25 and len({card.code for card in cards}) == 25
    for card in cards:
        assert (card.status, card.balance, card.kind) == ("inactive", 0, "printed")
        assert len(card.code) == 10 and set(card.code) <= set(ALPHABET)
        assert check_character(card.code[:-1]) == card.code[-1]


def test_every_single_character_typo_is_detected():
    code = "HT7K2MQXA" + check_character("HT7K2MQXA")
    for position in range(len(code)):
        for char in ALPHABET:
            if char == code[position]:
                continue
            typo = code[:position] + char + code[position + 1 :]
            with pytest.raises(Exception, match="giftcard_code_invalid"):
                giftcard_code_normalize(typo)


def test_lookup(organization, pos):
    card = new_card(organization)

    response = pos.get(f"/webhook/giftcards/{card.code.lower()[:4]}-{card.code.lower()[4:]}")

    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "code": card.code,
            "balance": "0.00",
            "currency": "EUR",
            "status": "inactive",
            "expires_at": None,
            "kind": "printed",
        }
    }


def test_lookup_errors(organization, pos):
    card = new_card(organization)
    typo = card.code[:-1] + ALPHABET[(ALPHABET.index(card.code[-1]) + 1) % len(ALPHABET)]
    unknown_body = "ZZZZZZZZZ"
    unknown = unknown_body + check_character(unknown_body)

    assert pos.get(f"/webhook/giftcards/{typo}").json() == {"error": "giftcard_code_invalid"}
    assert pos.get(f"/webhook/giftcards/{typo}").status_code == 422
    assert (
        pos.get(f"/webhook/giftcards/{unknown}").status_code,
        pos.get(f"/webhook/giftcards/{unknown}").json(),
    ) == (404, {"error": "giftcard_not_found"})
    assert pos.get("/webhook/giftcards/short").json() == {"error": "giftcard_code_invalid"}


def test_load_activates_and_pay_takes(organization, pos):
    card = new_card(organization)

    load = transact(pos, card, "50.00", "load-1")
    pay = transact(pos, card, -12.5, "pay-1")

    with tenant_context(organization):
        entries = list(
            card.entries.order_by("created_at").values_list("pk", "cause", "amount", "balance_after")
        )
    assert load.json() == {
        "data": {"transaction_id": str(entries[0][0]), "amount": "50.00", "balance": "50.00"}
    }
    assert pay.json() == {
        "data": {"transaction_id": str(entries[1][0]), "amount": "-12.50", "balance": "37.50"}
    }
    assert [row[1:] for row in entries] == [
        ("load", Decimal("50.00"), Decimal("50.00")),
        ("pay", Decimal("-12.50"), Decimal("37.50")),
    ]
    assert ledger_ok(organization, card) == (Decimal("37.50"), Decimal("37.50"))
    assert pos.get(f"/webhook/giftcards/{card.code}").json()["data"]["status"] == "active"


def test_paying_more_than_the_balance(organization, pos):
    card = new_card(organization)
    transact(pos, card, 20, "load")
    before = snapshot(organization)

    refused = transact(pos, card, -25, "pay")
    assert (refused.status_code, refused.json()) == (422, {"error": "insufficient_balance"})
    assert snapshot(organization) == before

    partial = transact(pos, card, -25, "pay-partial", allow_partial=True)
    assert partial.json()["data"] | {"transaction_id": None} == {
        "transaction_id": None,
        "amount": "-20.00",
        "balance": "0.00",
        "remaining_to_pay": "5.00",
    }
    assert transact(pos, card, -1, "pay-empty", allow_partial=True).json() == {
        "error": "insufficient_balance"
    }


@pytest.mark.parametrize(
    "amount",
    [0, "0.00", "1.234", "abc", True, [5], {"v": 1}, "1e20", 1e300, "NaN", "Infinity", "", "10.005"],
)
def test_bad_amounts_are_refused_and_change_nothing(organization, pos, amount):
    card = new_card(organization)
    before = snapshot(organization)

    response = transact(pos, card, amount)

    assert (response.status_code, response.json()["error"]) == (422, "amount_invalid")
    assert snapshot(organization) == before


def test_trailing_zeros_are_not_extra_decimals(organization, pos):
    card = new_card(organization)
    assert transact(pos, card, "10.500").json()["data"]["balance"] == "10.50"


def test_expired_and_blocked_cards(organization, pos):
    expired = new_card(organization, expires_at=timezone.now() - timedelta(minutes=1))
    blocked = new_card(organization, status="blocked")
    before = snapshot(organization)

    assert (transact(pos, expired, 5).status_code, transact(pos, expired, 5, "x").json()) == (
        410,
        {"error": "giftcard_expired"},
    )
    assert (transact(pos, blocked, 5).status_code, transact(pos, blocked, 5, "y").json()) == (
        409,
        {"error": "giftcard_blocked"},
    )
    assert pos.get(f"/webhook/giftcards/{expired.code}").json()["data"]["status"] == "expired"
    assert snapshot(organization) == before


def test_transaction_body_errors(organization, pos):
    card = new_card(organization)
    before = snapshot(organization)
    for body, code in (
        ({"amount": 5}, "external_id_required"),
        ({"amount": 5, "external_id": ""}, "external_id_required"),
        ({"external_id": "x"}, "amount_required"),
        ({"amount": None, "external_id": "x"}, "amount_required"),
        ({"amount": 5, "external_id": "x", "allow_partial": "yes"}, "allow_partial_invalid"),
        ({"amount": 5, "external_id": "x", "tip": 1}, "unknown_field"),
    ):
        response = pos.post(f"/webhook/giftcards/{card.code}/transactions", body)
        assert (response.status_code, response.json()["error"]) == (422, code), body
    assert pos.post(f"/webhook/giftcards/{card.code}/transactions", raw="{").status_code == 400
    assert snapshot(organization) == before


def test_idempotent_transactions(organization, pos):
    card = new_card(organization)
    first = transact(pos, card, 30, "same")
    again = transact(pos, card, 30, "same")
    other = transact(pos, card, 31, "same")

    assert again.content == first.content
    assert (other.status_code, other.json()) == (422, {"error": "idempotency_key_reused"})
    assert ledger_ok(organization, card) == (Decimal("30.00"), Decimal("30.00"))


def test_reverse_restores_exactly_once(organization, pos):
    card = new_card(organization)
    transact(pos, card, 40, "load")
    pay_id = transact(pos, card, -15, "pay").json()["data"]["transaction_id"]

    reversed_ = pos.post(f"/webhook/giftcard-transactions/{pay_id}/reverse", {"external_id": "rev-1"})
    again = pos.post(f"/webhook/giftcard-transactions/{pay_id}/reverse", {"external_id": "rev-2"})

    data = reversed_.json()["data"]
    assert (
        data["amount"] == "15.00" and data["balance"] == "40.00" and data["reversed_transaction_id"] == pay_id
    )
    assert (again.status_code, again.json()) == (409, {"error": "transaction_already_reversed"})
    reversal_of_reversal = pos.post(
        f"/webhook/giftcard-transactions/{data['transaction_id']}/reverse", {"external_id": "rev-3"}
    )
    assert (reversal_of_reversal.status_code, reversal_of_reversal.json()) == (
        422,
        {"error": "reversal_not_reversible"},
    )
    assert ledger_ok(organization, card) == (Decimal("40.00"), Decimal("40.00"))


def test_reversing_a_spent_load_is_refused(organization, pos):
    card = new_card(organization)
    load_id = transact(pos, card, 10, "load").json()["data"]["transaction_id"]
    transact(pos, card, -8, "pay")
    before = snapshot(organization)

    response = pos.post(f"/webhook/giftcard-transactions/{load_id}/reverse", {"external_id": "r"})

    assert (response.status_code, response.json()) == (422, {"error": "insufficient_balance"})
    assert snapshot(organization) == before


def test_reverse_unknown_or_malformed_ids(organization, pos):
    for transaction_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = pos.post(f"/webhook/giftcard-transactions/{transaction_id}/reverse", {"external_id": "r"})
        assert (response.status_code, response.json()) == (404, {"error": "transaction_not_found"})


def test_another_organization_sees_nothing(organization, other_organization, pos, pos_b):
    card = new_card(organization)
    load_id = transact(pos, card, 10, "load").json()["data"]["transaction_id"]
    before = snapshot(organization)

    assert pos_b.get(f"/webhook/giftcards/{card.code}").json() == {"error": "giftcard_not_found"}
    assert transact(pos_b, card, -5, "steal").json() == {"error": "giftcard_not_found"}
    assert pos_b.post(f"/webhook/giftcard-transactions/{load_id}/reverse", {"external_id": "r"}).json() == {
        "error": "transaction_not_found"
    }
    assert snapshot(organization) == before


def test_sell_a_digital_giftcard_and_email_it(
    organization, pos, mailoutbox, django_capture_on_commit_callbacks
):
    from loyalty_platform.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = pos.post(
                "/webhook/giftcards",
                {
                    "amount": "25.00",
                    "recipient_email": "friend@example.com",
                    "recipient_name": "Sam",
                    "sender_name": "Alex",
                    "message": "Happy birthday!",
                    "external_id": "gift-1",
                },
            )
    finally:
        app.conf.task_always_eager = False

    data = response.json()["data"]
    with tenant_context(organization):
        card = Giftcard.objects.get(code=data["code"])
    assert (data["amount"], data["balance"]) == ("25.00", "25.00")
    assert (card.kind, card.status, card.balance, card.recipient_email) == (
        "digital",
        "active",
        25,
        "friend@example.com",
    )
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["friend@example.com"]
    assert card.code in mail.body and "Happy birthday!" in mail.body and "25.00 EUR" in mail.body
    html = mail.alternatives[0][0]
    assert card.code in html and 'src="cid:giftcard-qr"' in html
    assert any(part.get("Content-ID") == "<giftcard-qr>" for part in mail.attachments)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": -5, "recipient_email": "a@example.com"}, "amount_invalid"),
        ({"amount": 5, "recipient_email": "nope"}, "recipient_email_invalid"),
        ({"amount": 5}, "recipient_email_required"),
        ({"amount": 5, "recipient_email": "a@example.com", "message": "x" * 1001}, "message_invalid"),
        # Header injection: each was charged before, and its email silently never sent.
        (
            {"amount": 5, "recipient_email": "a@example.com", "sender_name": "Al\r\nBcc: x@evil.example"},
            "sender_name_invalid",
        ),
        ({"amount": 5, "recipient_email": "a@example.com", "sender_name": "Al\nex"}, "sender_name_invalid"),
        (
            {"amount": 5, "recipient_email": "a@example.com", "recipient_name": "Sam\r"},
            "recipient_name_invalid",
        ),
        ({"amount": 5, "recipient_email": "a@example.com\r\nBcc: x@evil.example"}, "recipient_email_invalid"),
        ({"amount": 5, "recipient_email": "a@example.com", "message": "hi\x1b[2J"}, "message_invalid"),
        ({"amount": 5, "recipient_email": "a@example.com", "external_id": "g\r\n"}, "external_id_invalid"),
    ],
)
def test_digital_giftcard_bad_input(organization, pos, mailoutbox, body, code):
    before = snapshot(organization)
    response = pos.post("/webhook/giftcards", {"external_id": "g", **body})
    assert (response.status_code, response.json()["error"]) == (422, code)
    assert snapshot(organization) == before
    assert mailoutbox == []


def test_a_message_may_have_several_lines(organization, pos):
    response = pos.post(
        "/webhook/giftcards",
        {
            "external_id": "lines",
            "amount": 5,
            "recipient_email": "a@example.com",
            "message": "Happy\r\nbirthday\t!",
        },
    )
    assert response.status_code == 200
    with tenant_context(organization):
        assert Giftcard.objects.get(code=response.json()["data"]["code"]).message == "Happy\r\nbirthday\t!"


def test_a_stored_sender_name_with_line_breaks_still_gives_a_one_line_subject(organization, mailoutbox):
    card = new_card(
        organization, kind="digital", recipient_email="a@example.com", sender_name="Al\r\nBcc: x@evil.example"
    )
    with tenant_context(organization):
        giftcard_email_send(giftcard_id=card.pk)

    assert [(mail.subject, mail.to, mail.bcc) for mail in mailoutbox] == [
        ("A giftcard from Al Bcc: x@evil.example", ["a@example.com"], [])
    ]


def test_one_external_id_cannot_reverse_two_transactions(organization, pos):
    card = new_card(organization)
    transact(pos, card, 40, "load")
    first = transact(pos, card, -5, "pay-1").json()["data"]["transaction_id"]
    second = transact(pos, card, -7, "pay-2").json()["data"]["transaction_id"]

    reversed_first = pos.post(f"/webhook/giftcard-transactions/{first}/reverse", {"external_id": "rev"})
    reused = pos.post(f"/webhook/giftcard-transactions/{second}/reverse", {"external_id": "rev"})
    replay = pos.post(f"/webhook/giftcard-transactions/{first}/reverse", {"external_id": "rev"})

    assert reversed_first.status_code == 200
    assert (reused.status_code, reused.json()) == (422, {"error": "idempotency_key_reused"})
    assert replay.content == reversed_first.content
    assert ledger_ok(organization, card) == (Decimal("33.00"), Decimal("33.00"))


def test_one_external_id_is_one_request_whatever_the_code_spelling(organization, pos):
    card = new_card(organization)
    spelled = card.code.lower()[:5] + "-" + card.code.lower()[5:]

    first = transact(pos, card, 10, "same")
    again = pos.post(f"/webhook/giftcards/{spelled}/transactions", {"amount": 10, "external_id": "same"})

    assert again.content == first.content
    assert ledger_ok(organization, card) == (Decimal("10.00"), Decimal("10.00"))
