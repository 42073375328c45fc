"""The customer's own data on the profile (docs/decisions/0055): "My details" (name, birth
date, language), the phone number verified by a texted code, marketing consent per channel
with its history; bad input, throttling, wrong and expired codes, another organization."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.core import sms
from loyalty_platform.core.sms import SmsError
from loyalty_platform.customers.models import ConsentEvent, Customer, PhoneChange
from loyalty_platform.customers.phone_change import (
    customer_phone_change_request,
    phone_change_code_send,
    phone_code_hash,
)
from loyalty_platform.webhooks.models import WebhookEvent
from tests.conftest import HostClient, host_of
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import create_customer, tasks_run
from tests.webhooks.event_helpers import subscribe

NEW_PHONE = "+37061200001"
LITHUANIAN_MONTHS = [
    "sausio",
    "vasario",
    "kovo",
    "balandžio",
    "gegužės",
    "birželio",
    "liepos",
    "rugpjūčio",
    "rugsėjo",
    "spalio",
    "lapkričio",
    "gruodžio",
]
CODE = re.compile(r"is ([0-9]{6})\.")


@pytest.fixture
def member(organization):
    subscribe(organization)  # so that webhook events are recorded
    customer = create_customer(organization, email="ona@example.com")
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(name="Ona", consent_marketing_at=timezone.now())
        customer.refresh_from_db()
    return customer


def state(organization, customer) -> dict:
    """Everything the pages may change, to assert that a refused call changed nothing."""
    with tenant_context(organization):
        row = Customer.objects.get(pk=customer.pk)
        return {
            "customer": (
                row.name,
                row.birth_date,
                row.language,
                row.phone,
                row.consent_marketing_at,
                row.consent_sms_at,
                row.updated_at,
            ),
            "consent_events": list(ConsentEvent.objects.values_list("pk", flat=True)),
            "phone_changes": list(
                PhoneChange.objects.values_list("pk", "remaining_attempts", "confirmed_at")
            ),
            "audit": AuditLogEntry.objects.count(),
            "events": WebhookEvent.objects.count(),
            "texts": len(sms.outbox),
        }


def audit_of(organization, customer, action: str) -> list[dict]:
    with tenant_context(organization):
        return list(
            AuditLogEntry.objects.filter(action=action, target_id=str(customer.pk))
            .order_by("pk")
            .values_list("details", flat=True)
        )


def updated_events(organization) -> list[list[str]]:
    with tenant_context(organization):
        return [
            data["changed"]
            for data in WebhookEvent.objects.filter(type="customer.updated")
            .order_by("pk")
            .values_list("data", flat=True)
        ]


def ask_for(client, django_capture_on_commit_callbacks, phone: str = NEW_PHONE):
    with tasks_run(django_capture_on_commit_callbacks):
        return client.post("/me/details/phone", {"phone": phone})


def texted_code() -> str:
    return CODE.search(sms.outbox[-1].text).group(1)


# --- Name, birth date, language -----------------------------------------------------------------


def test_the_details_are_saved_audited_told_and_the_language_applies_at_once(organization, member):
    client = signed_in(organization, member)
    page = client.get("/me/details")
    assert page.status_code == 200 and 'value="Ona"' in page.content.decode()

    response = client.post(
        "/me/details", {"name": "  Ona Jonaitė ", "birth_date": "1990-05-17", "language": "lt"}
    )

    assert (response.status_code, response["Location"]) == (302, "/me/details")
    assert response.cookies["django_language"].value == "lt"
    with tenant_context(organization):
        saved = Customer.objects.get(pk=member.pk)
    assert (saved.name, saved.birth_date, saved.language) == ("Ona Jonaitė", date(1990, 5, 17), "lt")
    assert audit_of(organization, member, "customers.self_update") == [
        {
            "changes": {
                "name": ["Ona", "Ona Jonaitė"],
                "birth_date": [None, "1990-05-17"],
                "language": ["", "lt"],
            }
        }
    ]
    assert updated_events(organization) == [["birth_date", "name"]]  # the language is not told
    again = client.get("/me/details")
    assert '<html lang="lt">' in again.content.decode()


def test_saving_the_same_details_records_nothing(organization, member):
    client = signed_in(organization, member)
    client.post("/me/details", {"name": "Ona", "birth_date": "", "language": ""})
    assert audit_of(organization, member, "customers.self_update") == []
    assert updated_events(organization) == []


@pytest.mark.parametrize(
    ("form", "text"),
    [
        ({"name": "x" * 151, "birth_date": "", "language": ""}, "at most 150 characters"),
        ({"name": "Ona", "birth_date": "2999-01-01", "language": ""}, "a real date in the past"),
        ({"name": "Ona", "birth_date": "17.05.1990", "language": ""}, "a real date in the past"),
        ({"name": "Ona", "birth_date": "1990-02-30", "language": ""}, "a real date in the past"),
        ({"name": "Ona", "birth_date": "", "language": "xx"}, "one of the languages offered"),
        ({"name": "Ona Jonaitė", "birth_date": "1990-05-17", "language": "klingon"}, "languages offered"),
    ],
)
def test_bad_details_are_a_form_error_and_change_nothing(organization, member, form, text):
    client = signed_in(organization, member)
    before = state(organization, member)

    response = client.post("/me/details", form)

    assert response.status_code == 422
    assert text in response.content.decode()
    assert "django_language" not in response.cookies
    assert state(organization, member) == before


def test_the_details_need_a_signed_in_customer(organization, member):
    response = HostClient(organization).post("/me/details", {"name": "X"})
    assert (response.status_code, response["Location"]) == (302, "/me/login?next=%2Fme%2Fdetails")


# --- The phone number -----------------------------------------------------------------------------


def test_a_new_number_changes_only_once_the_texted_code_is_entered(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)

    asked = ask_for(client, django_capture_on_commit_callbacks, phone="+370 612 00001")

    assert (asked.status_code, asked["Location"]) == (302, "/me/details#phone-code")
    assert [(text.to, len(CODE.findall(text.text))) for text in sms.outbox] == [(NEW_PHONE, 1)]
    code = texted_code()
    with tenant_context(organization):
        change = PhoneChange.objects.get()
        assert Customer.objects.get(pk=member.pk).phone == ""
    assert (change.phone, change.remaining_attempts, change.confirmed_at) == (NEW_PHONE, 5, None)
    assert change.code_hash == phone_code_hash(change.pk, code) and code not in change.code_hash
    assert change.expires_at == change.created_at + timedelta(minutes=10)
    assert 'id="phone-code"' in client.get("/me/details").content.decode()

    confirmed = client.post("/me/details/phone/confirm", {"code": code})

    assert (confirmed.status_code, confirmed["Location"]) == (302, "/me/details#phone-title")
    with tenant_context(organization):
        assert Customer.objects.get(pk=member.pk).phone == NEW_PHONE
        assert PhoneChange.objects.get().confirmed_at is not None
    assert audit_of(organization, member, "customers.phone_change") == [
        {"changes": {"phone": ["", NEW_PHONE]}, "verified": True}
    ]
    assert updated_events(organization) == [["phone"]]
    # Spent: the same code again finds nothing waiting.
    again = client.post("/me/details/phone/confirm", {"code": code})
    assert again.status_code == 422 and "No new phone number waits for a code" in again.content.decode()


@pytest.mark.parametrize("code", ["000000", "12345", "abcdef", "\uff11\uff12\uff13\uff14\uff15\uff16", ""])
def test_a_wrong_code_is_a_form_error_and_the_number_stays(
    organization, member, django_capture_on_commit_callbacks, code
):
    client = signed_in(organization, member)
    ask_for(client, django_capture_on_commit_callbacks)
    if code == "000000" and texted_code() == code:
        code = "000001"
    with tenant_context(organization):
        customer_before = Customer.objects.filter(pk=member.pk).values_list("phone", "updated_at").get()

    response = client.post("/me/details/phone/confirm", {"code": code})

    assert response.status_code == 422
    assert "This is not the code we texted" in response.content.decode()
    with tenant_context(organization):
        assert (
            Customer.objects.filter(pk=member.pk).values_list("phone", "updated_at").get() == customer_before
        )
        # A try is used only by a code of six digits.
        tries = 4 if code in ("000000", "000001", "12345") else 5
        assert PhoneChange.objects.get().remaining_attempts == tries
    assert audit_of(organization, member, "customers.phone_change") == []


def test_five_wrong_codes_end_the_change_even_for_the_right_code(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)
    ask_for(client, django_capture_on_commit_callbacks)
    code = texted_code()
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        assert client.post("/me/details/phone/confirm", {"code": wrong}).status_code == 422
    response = client.post("/me/details/phone/confirm", {"code": code})
    assert response.status_code == 422 and "This code has expired" in response.content.decode()
    with tenant_context(organization):
        assert Customer.objects.get(pk=member.pk).phone == ""


def test_an_expired_code_is_a_form_error_and_the_number_stays(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)
    ask_for(client, django_capture_on_commit_callbacks)
    code = texted_code()
    before = state(organization, member)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = client.post("/me/details/phone/confirm", {"code": code})

    assert response.status_code == 422 and "This code has expired" in response.content.decode()
    assert state(organization, member) == before


@pytest.mark.parametrize(
    ("phone", "text"),
    [
        ("12", "with its country code"),
        ("+0123", "with its country code"),
        ("call me", "with its country code"),
        ("", "This is your phone number already"),  # none, and none asked
    ],
)
def test_a_bad_number_is_a_form_error_and_texts_nothing(
    organization, member, django_capture_on_commit_callbacks, phone, text
):
    client = signed_in(organization, member)
    before = state(organization, member)
    response = ask_for(client, django_capture_on_commit_callbacks, phone=phone)
    assert response.status_code == 422 and text in response.content.decode()
    assert state(organization, member) == before


def test_a_number_another_member_has_is_phone_taken(organization, member, django_capture_on_commit_callbacks):
    other = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=other.pk).update(phone=NEW_PHONE)
    client = signed_in(organization, member)
    before = state(organization, member)

    response = ask_for(client, django_capture_on_commit_callbacks)

    assert response.status_code == 422
    assert "Another member has this phone number." in response.content.decode()
    assert state(organization, member) == before


def test_codes_are_limited_per_customer_and_per_number(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)
    for number in range(3):
        assert (
            ask_for(client, django_capture_on_commit_callbacks, phone=f"+3706120000{number}").status_code
            == 302
        )
    before = state(organization, member)

    fourth = ask_for(client, django_capture_on_commit_callbacks, phone="+37061200009")

    assert fourth.status_code == 429 and int(fourth["Retry-After"]) > 3500
    assert "We texted enough codes for now" in fourth.content.decode()
    assert state(organization, member) == before
    # Three members asking for one number: a fourth is limited by the number, not by themselves.
    shared = "+37061299999"
    for _ in range(3):
        other = signed_in(organization, create_customer(organization))
        assert ask_for(other, django_capture_on_commit_callbacks, phone=shared).status_code == 302
    fourth_member = signed_in(organization, create_customer(organization))
    assert ask_for(fourth_member, django_capture_on_commit_callbacks, phone=shared).status_code == 429
    assert ask_for(fourth_member, django_capture_on_commit_callbacks, phone=NEW_PHONE).status_code == 302


def test_a_new_request_makes_the_earlier_code_useless(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)
    ask_for(client, django_capture_on_commit_callbacks, phone="+37061200001")
    first = texted_code()
    ask_for(client, django_capture_on_commit_callbacks, phone="+37061200002")
    second = texted_code()
    if first != second:
        assert client.post("/me/details/phone/confirm", {"code": first}).status_code == 422
    assert client.post("/me/details/phone/confirm", {"code": second}).status_code == 302
    with tenant_context(organization):
        assert Customer.objects.get(pk=member.pk).phone == "+37061200002"


def test_without_an_sms_sender_the_number_is_saved_at_once_unverified(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)
    with override_settings(SMS_BACKEND=""):
        assert "We text a code" not in client.get("/me/details").content.decode()
        response = ask_for(client, django_capture_on_commit_callbacks)
    assert (response.status_code, response["Location"]) == (302, "/me/details#phone-title")
    with tenant_context(organization):
        assert Customer.objects.get(pk=member.pk).phone == NEW_PHONE
        assert PhoneChange.objects.count() == 0
    assert sms.outbox == []
    assert audit_of(organization, member, "customers.phone_change") == [
        {"changes": {"phone": ["", NEW_PHONE]}, "verified": False}
    ]


def test_removing_the_number_needs_no_code_but_a_member_known_by_phone_keeps_it(
    organization, member, django_capture_on_commit_callbacks
):
    with tenant_context(organization):
        Customer.objects.filter(pk=member.pk).update(phone=NEW_PHONE)
    client = signed_in(organization, member)
    assert ask_for(client, django_capture_on_commit_callbacks, phone="").status_code == 302
    with tenant_context(organization):
        assert Customer.objects.get(pk=member.pk).phone == ""
    assert sms.outbox == []

    phone_only = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=phone_only.pk).update(email="", phone="+37061277777")
    phone_client = signed_in(organization, phone_only)
    before = state(organization, phone_only)
    response = ask_for(phone_client, django_capture_on_commit_callbacks, phone="")
    assert response.status_code == 422 and "it cannot be removed" in response.content.decode()
    assert state(organization, phone_only) == before


# --- Marketing consent per channel ---------------------------------------------------------------


def test_withdrawing_and_giving_consent_per_channel_is_recorded_with_its_history(
    organization, member, django_capture_on_commit_callbacks
):
    with tenant_context(organization):
        Customer.objects.filter(pk=member.pk).update(phone=NEW_PHONE)
    client = signed_in(organization, member)

    withdrawn = client.post("/me/consent", {"channel": "email", "action": "withdraw"})
    again = client.post("/me/consent", {"channel": "email", "action": "withdraw"})  # a double click
    given = client.post("/me/consent", {"channel": "sms", "action": "give"})

    assert [r.status_code for r in (withdrawn, again, given)] == [302, 302, 302]
    with tenant_context(organization):
        saved = Customer.objects.get(pk=member.pk)
        events = list(
            ConsentEvent.objects.order_by("pk").values_list("channel", "given", "source", "created_at")
        )
    assert saved.consent_marketing_at is None
    assert saved.consent_sms_at is not None
    assert [event[:3] for event in events] == [("email", False, "profile"), ("sms", True, "profile")]
    assert events[1][3] == saved.consent_sms_at
    assert audit_of(organization, member, "customers.consent") == [
        {"channel": "email", "given": False, "source": "profile"},
        {"channel": "sms", "given": True, "source": "profile"},
    ]
    assert updated_events(organization) == [["consent_marketing"], ["consent_sms"]]
    with tenant_context(organization):
        payload = WebhookEvent.objects.filter(type="customer.updated").order_by("pk").last().data
    assert (payload["consent_marketing"], payload["consent_sms"]) == (False, True)

    page = client.get("/me/details").content.decode()
    day = timezone.localtime(events[0][3])
    assert "We do not email you offers." in page
    assert f"We may text you offers (since {day.day} {day:%B %Y})." in page
    assert "Withdrew consent to offers by email" in page and "Agreed to offers by text message" in page
    assert "The customer&#x27;s profile" in page
    assert f"{day.day} {day:%B %Y}, {day:%H:%M}" in page


def test_the_history_speaks_the_customers_language(organization, member):
    client = signed_in(organization, member)
    client.post("/me/consent", {"channel": "email", "action": "withdraw"})
    client.post("/me/details", {"name": "Ona", "birth_date": "", "language": "lt"})
    page = client.get("/me/details").content.decode()
    day = timezone.localdate()
    assert f"{day.year} m. {LITHUANIAN_MONTHS[day.month - 1]} {day.day} d." in page  # 2026 m. gruodžio 3 d.


@pytest.mark.parametrize(
    ("form", "text"),
    [
        ({"channel": "post", "action": "give"}, "This form is not valid any more"),
        ({"channel": "email", "action": "maybe"}, "This form is not valid any more"),
        ({"channel": "email"}, "This form is not valid any more"),
        ({"channel": "sms", "action": "give"}, "Add your phone number first"),
    ],
)
def test_a_bad_consent_form_is_a_form_error_and_changes_nothing(organization, member, form, text):
    client = signed_in(organization, member)
    before = state(organization, member)
    response = client.post("/me/consent", form)
    assert response.status_code == 422 and text in response.content.decode()
    assert state(organization, member) == before


# --- Another organization -------------------------------------------------------------------------


def _same_pk_customer(other_organization, customer) -> Customer:
    with tenant_context(other_organization):
        Customer.objects.filter(pk=customer.pk).delete()
        return Customer.objects.create(
            pk=customer.pk,
            customer_code=customer.customer_code,
            email="b@example.com",
            name="Bea",
            consent_terms_at=timezone.now(),
            consent_privacy_at=timezone.now(),
            consent_marketing_at=timezone.now(),
        )


def test_a_session_of_organization_a_cannot_touch_the_customer_of_b_with_the_same_pk(
    organization, other_organization, member, django_capture_on_commit_callbacks
):
    theirs = _same_pk_customer(other_organization, member)
    client = signed_in(organization, member)
    before = state(other_organization, theirs)
    client.defaults["HTTP_HOST"] = host_of(other_organization)
    for path, form in (
        ("/me/details", {"name": "Hacked", "birth_date": "", "language": ""}),
        ("/me/details/phone", {"phone": NEW_PHONE}),
        ("/me/details/phone/confirm", {"code": "123456"}),
        ("/me/consent", {"channel": "email", "action": "withdraw"}),
    ):
        with tasks_run(django_capture_on_commit_callbacks):
            response = client.post(path, form)
        assert response.status_code == 302 and response["Location"].startswith("/me/login?next=")
    assert state(other_organization, theirs) == before


def test_a_code_texted_in_a_is_useless_in_b(
    organization, other_organization, member, django_capture_on_commit_callbacks
):
    ask_for(signed_in(organization, member), django_capture_on_commit_callbacks)
    code = texted_code()
    theirs = _same_pk_customer(other_organization, member)
    with tenant_context(organization):
        change = PhoneChange.objects.get()
    with tenant_context(other_organization):
        # The same row in B, even its hash: the code was hashed over A's schema.
        PhoneChange.objects.create(
            pk=change.pk,
            customer=theirs,
            phone=NEW_PHONE,
            code_hash=change.code_hash,
            remaining_attempts=5,
            created_at=change.created_at,
            expires_at=change.expires_at,
        )
    response = signed_in(other_organization, theirs).post("/me/details/phone/confirm", {"code": code})
    assert response.status_code == 422 and "This is not the code we texted" in response.content.decode()
    with tenant_context(other_organization):
        assert Customer.objects.get(pk=theirs.pk).phone == ""
    with tenant_context(organization):
        assert Customer.objects.get(pk=member.pk).phone == ""


def test_a_provider_outage_leaves_no_code_valid_and_a_retry_draws_a_new_one(
    organization, member, django_capture_on_commit_callbacks
):
    client = signed_in(organization, member)
    outage = override_settings(SMS_BACKEND="http", SMS_HTTP_URL="http://127.0.0.1:9/sms", SMS_HTTP_TOKEN="t")
    with outage, tenant_context(organization):
        change = customer_phone_change_request(customer=member, phone=NEW_PHONE, language="en")
        with pytest.raises(SmsError):
            phone_change_code_send(change_id=change.pk, language="en")
        assert PhoneChange.objects.get(pk=change.pk).code_hash == ""
    with tenant_context(organization):
        assert phone_change_code_send(change_id=change.pk, language="en")  # the task's retry
        assert not phone_change_code_send(change_id=change.pk, language="en")  # texted already
    assert len(sms.outbox) == 1
    assert client.post("/me/details/phone/confirm", {"code": texted_code()}).status_code == 302
    with tenant_context(organization):
        assert not phone_change_code_send(change_id=change.pk, language="en")  # confirmed


def test_a_member_without_email_may_withdraw_an_email_consent_but_not_give_one(organization):
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(email="", phone="+37061277770")
    client = signed_in(organization, customer)
    assert 'data-channel="email"' not in client.get("/me/details").content.decode()
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(consent_marketing_at=timezone.now())
    page = client.get("/me/details").content.decode()
    assert 'data-channel="email" data-given="true"' in page
    assert client.post("/me/consent", {"channel": "email", "action": "withdraw"}).status_code == 302
