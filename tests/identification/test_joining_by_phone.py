"""Joining by phone (docs/decisions/0052): POST /webhook/customer with a phone and no email,
where the organization allows it; the texted link; the page where the member consents; the
till's invitation channel."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.core import sms
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.login import login_link_consume
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_erase
from loyalty_platform.customers.session import SESSION_KEY
from loyalty_platform.identification.joining import join_link_create, join_link_hash, join_sms_send
from loyalty_platform.identification.models import Invitation, JoinLink
from loyalty_platform.identification.services import app_link_send
from loyalty_platform.shops.models import Shop
from loyalty_platform.stored_value.models import Giftcard
from loyalty_platform.webhooks.models import WebhookEvent
from tests.conftest import HostClient
from tests.identification.test_qr_sessions import listen
from tests.pos_fixtures import create_customer, snapshot, tasks_run
from tests.processes import free_port
from tests.webhooks.event_helpers import subscribe

PHONE = "+37061234567"
LINK = re.compile(r"http://test-a\.localhost:8000/me/finish/(jn_[A-Za-z0-9_-]+)")


@pytest.fixture
def phone_enrollment(organization):
    organization.phone_enrollment = True
    organization.save(update_fields=["phone_enrollment"])
    subscribe(organization)  # so that webhook events are recorded
    return organization


def enroll_by_phone(pos, django_capture_on_commit_callbacks, phone: str = PHONE, **body):
    with tasks_run(django_capture_on_commit_callbacks):
        return pos.post("/webhook/customer", {"phone": phone, **body})


def texted_token() -> str:
    assert len(sms.outbox) >= 1
    return LINK.search(sms.outbox[-1].text).group(1)


def everything(organization) -> dict:
    with tenant_context(organization):
        return {
            **snapshot(organization),
            "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "status")),
            "links": list(JoinLink.objects.order_by("pk").values_list("pk", "used_at")),
            "consents": list(
                Customer.objects.order_by("pk").values_list(
                    "consent_terms_at", "consent_marketing_at", "name"
                )
            ),
            "events": WebhookEvent.objects.count(),
            "texts": len(sms.outbox),
        }


# --- The till's call ----------------------------------------------------------------------------


def test_a_phone_without_email_becomes_a_pending_member_texted_a_link(
    phone_enrollment, programs, pos, django_capture_on_commit_callbacks
):
    response = enroll_by_phone(pos, django_capture_on_commit_callbacks, phone="+370 612 34567", name="Ona")

    assert response.status_code == 200
    data = response.json()["data"]
    with tenant_context(phone_enrollment):
        customer = Customer.objects.get()
        invitation = Invitation.objects.get()
        link = JoinLink.objects.get()
    assert data == {
        "customer_code": customer.customer_code,
        "is_new": True,
        "masked_email": "",
        "stamp_count": 0,
        "point_balance": 0,
        "status": "pending",
        "invitation_id": invitation.pk,
        "channel": f"invitation.{invitation.pk}",
    }
    assert (customer.email, customer.phone, customer.name, customer.status) == ("", PHONE, "Ona", "pending")
    assert (customer.consent_terms_at, customer.consent_privacy_at, customer.consent_marketing_at) == (
        None,
        None,
        None,
    )
    assert (invitation.phone, invitation.customer_id, invitation.status) == (PHONE, customer.pk, "pending")
    assert len(sms.outbox) == 1 and sms.outbox[0].to == PHONE
    token = texted_token()
    assert sms.outbox[0].text == (
        f"Test Org A: tap to finish joining our loyalty program: "
        f"http://test-a.localhost:8000/me/finish/{token} (valid 24 hours)"
    )
    # Only a hash is kept, taken over the organization's schema with the token.
    assert link.token_hash == join_link_hash(token) and token not in link.token_hash
    assert (link.customer_id, link.invitation_id, link.used_at) == (customer.pk, invitation.pk, None)
    assert timedelta(hours=23, minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=24)
    # Nobody consented yet: no enrollment event for the webhooks.
    with tenant_context(phone_enrollment):
        assert not WebhookEvent.objects.filter(type="customer.enrolled").exists()


def test_the_pending_member_is_found_by_phone_with_its_status(
    phone_enrollment, programs, pos, django_capture_on_commit_callbacks
):
    code = enroll_by_phone(pos, django_capture_on_commit_callbacks).json()["data"]["customer_code"]

    found = pos.get("/webhook/customer", {"phone": PHONE}).json()["data"]

    assert found == {
        "customer_code": code,
        "masked_email": "",
        "stamp_count": 0,
        "point_balance": 0,
        "status": "pending",
    }


def test_enrolling_a_pending_number_again_texts_a_new_link_a_few_times_an_hour(
    phone_enrollment, programs, pos, django_capture_on_commit_callbacks
):
    first = enroll_by_phone(pos, django_capture_on_commit_callbacks).json()["data"]
    again = [enroll_by_phone(pos, django_capture_on_commit_callbacks).json()["data"] for _ in range(2)]
    before = everything(phone_enrollment)

    refused = enroll_by_phone(pos, django_capture_on_commit_callbacks)

    assert [a["customer_code"] for a in again] == [first["customer_code"]] * 2
    assert [a["is_new"] for a in again] == [False, False]
    assert len({first["invitation_id"], *(a["invitation_id"] for a in again)}) == 3
    assert len(sms.outbox) == 3
    assert refused.status_code == 429
    assert refused.json() == {"error": "too many requests", "retry_after": int(refused["Retry-After"])}
    assert everything(phone_enrollment) == before


def test_a_number_that_is_already_a_members_returns_that_member_and_texts_nothing(
    phone_enrollment, programs, pos, django_capture_on_commit_callbacks
):
    member = create_customer(phone_enrollment, email="ona@example.com")
    with tenant_context(phone_enrollment):
        Customer.objects.filter(pk=member.pk).update(phone=PHONE)
    before = everything(phone_enrollment)

    response = enroll_by_phone(pos, django_capture_on_commit_callbacks)

    assert response.json()["data"] == {
        "customer_code": member.customer_code,
        "is_new": False,
        "masked_email": "o***@example.com",
        "stamp_count": 0,
        "point_balance": 0,
        "status": "active",
    }
    assert everything(phone_enrollment) == before


def test_where_the_organization_does_not_allow_it_the_call_is_refused_as_before(
    organization, programs, pos, django_capture_on_commit_callbacks
):
    before = everything(organization)

    response = enroll_by_phone(pos, django_capture_on_commit_callbacks)

    assert (response.status_code, response.json()) == (422, {"error": "email_required"})
    assert everything(organization) == before


def test_without_an_sms_sender_the_call_is_refused_as_before(
    phone_enrollment, programs, pos, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = ""
    before = everything(phone_enrollment)

    response = enroll_by_phone(pos, django_capture_on_commit_callbacks)

    assert (response.status_code, response.json()) == (422, {"error": "email_required"})
    assert everything(phone_enrollment) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"phone": "12"}, 422, "phone_invalid"),
        ({"phone": "not a phone"}, 422, "phone_invalid"),
        ({"phone": 37061234567}, 422, "phone_invalid"),
        ({"phone": "+" + "1" * 40}, 422, "phone_invalid"),
        ({"phone": PHONE, "birth_date": "2999-01-01"}, 422, "birth_date_invalid"),
        ({"phone": PHONE, "email": "nope"}, 422, "invalid_email"),
        ({}, 422, "email_required"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    phone_enrollment, programs, pos, body, status, code, django_capture_on_commit_callbacks
):
    before = everything(phone_enrollment)

    with tasks_run(django_capture_on_commit_callbacks):
        response = pos.post("/webhook/customer", body)

    assert (response.status_code, response.json()["error"]) == (status, code)
    assert everything(phone_enrollment) == before


def test_the_other_organization_does_not_allow_it_and_never_sees_the_member(
    phone_enrollment, other_organization, programs, pos, pos_b, django_capture_on_commit_callbacks
):
    enroll_by_phone(pos, django_capture_on_commit_callbacks)

    response = enroll_by_phone(pos_b, django_capture_on_commit_callbacks)

    assert (response.status_code, response.json()) == (422, {"error": "email_required"})
    assert pos_b.get("/webhook/customer", {"phone": PHONE}).json() == {"error": "customer_not_found"}
    with tenant_context(other_organization):
        assert not Customer.objects.exists() and not Invitation.objects.exists()


# --- The page of the link ----------------------------------------------------------------------


@pytest.fixture
def pending(phone_enrollment, programs, pos, django_capture_on_commit_callbacks):
    """A pending member texted a link: (token, invitation_id, customer_code)."""
    data = enroll_by_phone(pos, django_capture_on_commit_callbacks).json()["data"]
    return texted_token(), data["invitation_id"], data["customer_code"]


CONSENTS = {"consent_terms": "on", "consent_privacy": "on"}


def test_opening_the_link_shows_the_page_and_changes_nothing(phone_enrollment, pending):
    token, _invitation_id, _code = pending
    before = everything(phone_enrollment)

    page = HostClient(phone_enrollment).get(f"/me/finish/{token}")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Finish joining Test Org A" in text and PHONE in text
    assert 'name="consent_terms"' in text and 'name="consent_marketing"' in text
    assert everything(phone_enrollment) == before


def test_consenting_makes_an_active_member_signed_in_and_tells_the_till(
    phone_enrollment, pending, pos, django_capture_on_commit_callbacks
):
    token, invitation_id, code = pending
    receive = listen(f"invitation.{invitation_id}")
    client = HostClient(phone_enrollment)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/me/finish/{token}",
            {**CONSENTS, "consent_marketing": "on", "name": " Ona Jonaitė ", "email": "Ona@Example.com"},
        )

    assert (response.status_code, response["Location"]) == (302, "/me/")
    assert json.loads(receive()["data"]) == {"invitation_id": invitation_id, "customer_code": code}
    with tenant_context(phone_enrollment):
        customer = Customer.objects.get(customer_code=code)
        assert client.session[SESSION_KEY] == customer.pk
        assert JoinLink.objects.get().used_at is not None
        event = WebhookEvent.objects.get(type="customer.enrolled")
    assert (customer.status, customer.email, customer.name) == ("active", "ona@example.com", "Ona Jonaitė")
    assert customer.consent_terms_at == customer.consent_privacy_at == customer.consent_marketing_at
    assert customer.consent_terms_at is not None
    assert event.data == {
        "customer": {"customer_code": code, "masked_email": "o***@example.com", "status": "active"},
        "source": "phone",
        "consent_marketing": True,
        "consent_sms": False,
    }
    polled = pos.get(f"/webhook/customer/invitations/{invitation_id}").json()["data"]
    assert (polled["status"], polled["customer_code"]) == ("accepted", code)
    assert client.get("/me/").status_code == 200


def test_every_till_that_enrolled_the_number_hears_it(
    phone_enrollment, pending, pos, django_capture_on_commit_callbacks
):
    token, first_invitation, code = pending
    second_invitation = enroll_by_phone(pos, django_capture_on_commit_callbacks).json()["data"][
        "invitation_id"
    ]
    first, second = listen(f"invitation.{first_invitation}"), listen(f"invitation.{second_invitation}")

    with django_capture_on_commit_callbacks(execute=True):
        HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)

    assert json.loads(first()["data"]) == {"invitation_id": first_invitation, "customer_code": code}
    assert json.loads(second()["data"]) == {"invitation_id": second_invitation, "customer_code": code}


def test_without_an_email_the_member_joins_with_the_phone_only(phone_enrollment, pending):
    token, _invitation_id, code = pending

    response = HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)

    assert response.status_code == 302
    with tenant_context(phone_enrollment):
        customer = Customer.objects.get(customer_code=code)
    assert (customer.status, customer.email, customer.phone, customer.consent_marketing_at) == (
        "active",
        "",
        PHONE,
        None,
    )


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"consent_privacy": "on"}, "consent_terms_required"),
        ({"consent_terms": "on"}, "consent_privacy_required"),
        ({"consent_terms": "yes", "consent_privacy": "on"}, "consent_terms_required"),
        ({**CONSENTS, "email": "not an email"}, "invalid_email"),
    ],
)
def test_a_refused_form_says_why_and_changes_nothing(phone_enrollment, pending, form, code):
    token, _invitation_id, _code = pending
    before = everything(phone_enrollment)

    response = HostClient(phone_enrollment).post(f"/me/finish/{token}", form)

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.content.decode()
    assert everything(phone_enrollment) == before


def test_another_members_email_is_refused_and_changes_nothing(phone_enrollment, pending):
    token, _invitation_id, _code = pending
    create_customer(phone_enrollment, email="taken@example.com")
    before = everything(phone_enrollment)

    response = HostClient(phone_enrollment).post(
        f"/me/finish/{token}", {**CONSENTS, "email": "TAKEN@example.com"}
    )

    assert response.status_code == 422
    assert "Another member has this email address" in response.content.decode()
    assert everything(phone_enrollment) == before


def test_the_link_works_once(phone_enrollment, pending):
    token, _invitation_id, _code = pending
    HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)
    before = everything(phone_enrollment)

    for response in (
        HostClient(phone_enrollment).get(f"/me/finish/{token}"),
        HostClient(phone_enrollment).post(f"/me/finish/{token}", {**CONSENTS, "name": "Someone"}),
    ):
        assert response.status_code == 410
        assert "You have already finished joining" in response.content.decode()
    assert everything(phone_enrollment) == before


def test_an_older_link_is_spent_once_the_member_joined_by_a_newer_one(
    phone_enrollment, pending, pos, django_capture_on_commit_callbacks
):
    old_token, _invitation_id, _code = pending
    enroll_by_phone(pos, django_capture_on_commit_callbacks)
    HostClient(phone_enrollment).post(f"/me/finish/{texted_token()}", CONSENTS)

    response = HostClient(phone_enrollment).post(f"/me/finish/{old_token}", CONSENTS)

    assert response.status_code == 410


def test_an_expired_link_is_refused_and_changes_nothing(phone_enrollment, pending):
    token, _invitation_id, _code = pending
    with tenant_context(phone_enrollment):
        JoinLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = everything(phone_enrollment)

    for response in (
        HostClient(phone_enrollment).get(f"/me/finish/{token}"),
        HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS),
    ):
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    assert everything(phone_enrollment) == before


# A control character is the request guard's refusal, before the view.
@pytest.mark.parametrize(("token", "status"), [("jn_unknown", 404), ("x" * 300, 404), ("jn_%00", 400)])
def test_an_unknown_link_is_not_found(phone_enrollment, pending, token, status):
    before = everything(phone_enrollment)

    response = HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)

    assert response.status_code == status
    assert everything(phone_enrollment) == before


def test_a_link_of_another_organization_is_not_found_there(phone_enrollment, other_organization, pending):
    token, _invitation_id, _code = pending
    with tenant_context(other_organization):
        # Even a row with the same token (a copied schema) does not match: the hash binds the schema.
        other = Customer.objects.create(customer_code=123456, phone=PHONE, status="pending")
        invitation = Invitation.objects.create(
            phone=PHONE, customer=other, expires_at=timezone.now() + timedelta(hours=1)
        )
        JoinLink.objects.create(
            invitation=invitation,
            customer=other,
            token_hash=_hash_in(phone_enrollment, token),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    before = everything(phone_enrollment)

    for response in (
        HostClient(other_organization).get(f"/me/finish/{token}"),
        HostClient(other_organization).post(f"/me/finish/{token}", CONSENTS),
    ):
        assert response.status_code == 404
    assert everything(phone_enrollment) == before
    with tenant_context(other_organization):
        assert Customer.objects.get(pk=other.pk).status == "pending"


def _hash_in(organization, token: str) -> str:
    with tenant_context(organization):
        return join_link_hash(token)


def test_the_link_names_its_organization_host(phone_enrollment, pending):
    with tenant_context(phone_enrollment):
        url = join_link_create(invitation=Invitation.objects.get())
    assert url.startswith("http://test-a.localhost:8000/me/finish/jn_")


def test_a_pending_member_cannot_sign_in(phone_enrollment, pending):
    _token, _invitation_id, code = pending
    with tenant_context(phone_enrollment):
        customer = Customer.objects.get(customer_code=code)
    client = HostClient(phone_enrollment)
    with tenant_context(phone_enrollment):
        session = client.session
        session[SESSION_KEY] = customer.pk
        session.save()
    client.cookies["sessionid"] = session.session_key

    assert client.get("/me/").status_code == 302


# --- After joining: the profile link by text for a member without an email -----------------------


def test_a_shops_profile_link_is_texted_to_a_member_without_an_email(
    phone_enrollment, pending, django_capture_on_commit_callbacks
):
    token, _invitation_id, code = pending
    HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)
    with tenant_context(phone_enrollment):
        shop = Shop.objects.create(name="Web shop")
        with tasks_run(django_capture_on_commit_callbacks):
            sent = app_link_send(phone=PHONE, shop_id=shop.pk, language="en")
    assert (sent.channels, sent.sms) == (("sms",), "sent")
    assert sms.outbox[-1].to == PHONE
    signed = re.search(r"http://test-a\.localhost:8000/me/login/([A-Za-z0-9_-]+)", sms.outbox[-1].text)
    assert sms.outbox[-1].text == (
        f"Test Org A: your sign-in link: {signed.group(0)} (works once, for 15 minutes)"
    )
    with tenant_context(phone_enrollment):
        assert login_link_consume(token=signed.group(1)).customer.customer_code == code


def test_a_pending_member_gets_no_profile_link(phone_enrollment, pending, django_capture_on_commit_callbacks):
    before = everything(phone_enrollment)
    with tenant_context(phone_enrollment):
        shop = Shop.objects.create(name="Web shop")
        with pytest.raises(DomainError, match=r"^customer_not_found$"):
            app_link_send(phone=PHONE, shop_id=shop.pk, language="en")
    assert everything(phone_enrollment) == before


def test_without_an_sms_sender_a_member_without_an_email_gets_nothing(
    phone_enrollment, pending, settings, django_capture_on_commit_callbacks
):
    token, _invitation_id, _code = pending
    HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)
    settings.SMS_BACKEND = ""
    texts = len(sms.outbox)
    with tenant_context(phone_enrollment):
        shop = Shop.objects.create(name="Web shop")
        with tasks_run(django_capture_on_commit_callbacks):
            sent = app_link_send(phone=PHONE, shop_id=shop.pk, language="en")
    assert (sent.channels, sent.sms) == ((), "not_configured")
    assert len(sms.outbox) == texts


def test_erasing_a_member_without_an_email_leaves_other_giftcards_alone(phone_enrollment, pending):
    token, _invitation_id, code = pending
    HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)
    with tenant_context(phone_enrollment):
        giftcard = Giftcard.objects.create(
            code="GIFT-0001", kind="digital", recipient_name="Somebody", currency="EUR"
        )
        customer_erase(customer=Customer.objects.get(customer_code=code))
        giftcard.refresh_from_db()
    assert giftcard.recipient_name == "Somebody"


# --- Signing in again by text ------------------------------------------------------------------


def test_a_member_without_an_email_signs_in_by_a_texted_link(
    phone_enrollment, pending, django_capture_on_commit_callbacks
):
    token, _invitation_id, code = pending
    HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)
    client = HostClient(phone_enrollment)
    assert 'action="/me/login/phone"' in client.get("/me/login").content.decode()

    with tasks_run(django_capture_on_commit_callbacks):
        answer = client.post("/me/login/phone", {"phone": "+370 612 34567"})

    assert answer.status_code == 200 and "Check your messages" in answer.content.decode()
    signed = re.search(r"http://test-a\.localhost:8000(/me/login/[A-Za-z0-9_-]+)", sms.outbox[-1].text)
    assert sms.outbox[-1].to == PHONE
    assert client.get(signed.group(1)).status_code == 302
    with tenant_context(phone_enrollment):
        assert client.session[SESSION_KEY] == Customer.objects.get(customer_code=code).pk


@pytest.mark.parametrize("who", ["pending", "with_email", "unknown"])
def test_nobody_else_is_texted_and_the_answer_is_the_same(
    phone_enrollment, pending, who, django_capture_on_commit_callbacks
):
    phone = {"pending": PHONE, "with_email": "+37069999999", "unknown": "+37068888888"}[who]
    if who == "with_email":
        member = create_customer(phone_enrollment, email="ona@example.com")
        with tenant_context(phone_enrollment):
            Customer.objects.filter(pk=member.pk).update(phone=phone)
    before = everything(phone_enrollment)

    with tasks_run(django_capture_on_commit_callbacks):
        answer = HostClient(phone_enrollment).post("/me/login/phone", {"phone": phone})

    assert answer.status_code == 200 and "Check your messages" in answer.content.decode()
    assert everything(phone_enrollment) == before


def test_texted_sign_in_links_are_limited_per_number(
    phone_enrollment, pending, django_capture_on_commit_callbacks
):
    token, _invitation_id, _code = pending
    HostClient(phone_enrollment).post(f"/me/finish/{token}", CONSENTS)
    with tasks_run(django_capture_on_commit_callbacks):
        answers = [HostClient(phone_enrollment).post("/me/login/phone", {"phone": PHONE}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0


@pytest.mark.parametrize("phone", ["", "12", "x" * 40])
def test_a_bad_number_is_refused(phone_enrollment, phone):
    answer = HostClient(phone_enrollment).post("/me/login/phone", {"phone": phone})

    assert answer.status_code == 422
    assert "This is not a phone number" in answer.content.decode()
    assert sms.outbox == []


def test_without_an_sms_sender_the_sign_in_page_offers_no_text(phone_enrollment, settings):
    settings.SMS_BACKEND = ""

    assert "/me/login/phone" not in HostClient(phone_enrollment).get("/me/login").content.decode()


# --- Enrolled with an email meanwhile ----------------------------------------------------------


def test_enrolling_the_pending_number_with_an_email_makes_that_member_join(
    phone_enrollment, pending, pos, mailoutbox, django_capture_on_commit_callbacks
):
    token, invitation_id, code = pending
    receive = listen(f"invitation.{invitation_id}")

    with tasks_run(django_capture_on_commit_callbacks):
        response = pos.post(
            "/webhook/customer",
            {
                "email": "Ona@Example.com",
                "phone": PHONE,
                "name": "Ona",
                "consent_terms": True,
                "consent_privacy": True,
            },
        )

    assert response.json()["data"] == {
        "customer_code": code,
        "is_new": True,
        "masked_email": "o***@example.com",
        "stamp_count": 0,
        "point_balance": 0,
        "status": "active",
    }
    assert json.loads(receive()["data"]) == {"invitation_id": invitation_id, "customer_code": code}
    with tenant_context(phone_enrollment):
        assert Customer.objects.count() == 1
        customer = Customer.objects.get()
        event = WebhookEvent.objects.get(type="customer.enrolled")
    assert (customer.email, customer.name, customer.status) == ("ona@example.com", "Ona", "active")
    assert customer.consent_terms_at is not None
    assert event.data["source"] == "pos_api"
    assert [mail.to for mail in mailoutbox] == [["ona@example.com"]]  # the welcome
    # The texted link is spent: they are a member already.
    assert HostClient(phone_enrollment).get(f"/me/finish/{token}").status_code == 410


def test_enrolling_the_pending_number_without_consents_changes_nothing(
    phone_enrollment, pending, pos, django_capture_on_commit_callbacks
):
    before = everything(phone_enrollment)

    with tasks_run(django_capture_on_commit_callbacks):
        response = pos.post(
            "/webhook/customer", {"email": "ona@example.com", "phone": PHONE, "consent_terms": True}
        )

    assert (response.status_code, response.json()) == (422, {"error": "consent_privacy_required"})
    assert everything(phone_enrollment) == before


def test_erasing_a_pending_member_erases_the_number_from_the_invitations(phone_enrollment, pending):
    token, _invitation_id, code = pending
    with tenant_context(phone_enrollment):
        customer_erase(customer=Customer.objects.get(customer_code=code))
        assert list(Invitation.objects.values_list("phone", "email")) == [("", "")]
        assert not JoinLink.objects.exists()
        erased = Customer.objects.get(customer_code=code)
    assert (erased.status, erased.phone) == ("deleted", "")
    assert HostClient(phone_enrollment).get(f"/me/finish/{token}").status_code == 404


def test_a_profile_sign_up_with_the_pending_number_does_not_take_the_membership_over(
    phone_enrollment, pending
):
    _token, _invitation_id, code = pending

    response = HostClient(phone_enrollment).post(
        "/me/signup",
        {"email": "someone@example.com", "phone": PHONE, "consent_terms": "on", "consent_privacy": "on"},
    )

    assert response.status_code == 200
    with tenant_context(phone_enrollment):
        assert Customer.objects.get(customer_code=code).status == "pending"
        assert Customer.objects.get(email="someone@example.com").customer_code != code
        assert Invitation.objects.get().status == "pending"


def test_a_text_that_fails_leaves_no_link_behind(phone_enrollment, pending, settings):
    _token, invitation_id, _code = pending
    with tenant_context(phone_enrollment):
        links = list(JoinLink.objects.values_list("pk", flat=True))
    # The provider cannot be reached: nothing listens on the port.
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{free_port()}/sms"
    settings.SMS_HTTP_TOKEN = "t"
    sent_before = len(sms.outbox)

    with tenant_context(phone_enrollment), pytest.raises(sms.SmsError):
        join_sms_send(invitation_id=invitation_id)

    with tenant_context(phone_enrollment):
        assert list(JoinLink.objects.values_list("pk", flat=True)) == links
    assert len(sms.outbox) == sent_before
