"""Marketing consent per channel (docs/decisions/0055): the columns, the ConsentEvent history
and their effects wherever consent is given or withdrawn: enrollment, joining by phone, the
profile, the unsubscribe link, erasure, the export; campaigns email only email consenters."""

import importlib
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns import messages
from loyalty_platform.campaigns.services import customer_unsubscribe
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import ConsentEvent, Customer, PhoneChange
from loyalty_platform.customers.selectors import consent_history, customer_timeline
from loyalty_platform.customers.services import (
    customer_enroll,
    customer_erase,
    customer_export,
    customer_marketing_consent_set,
    pending_member_activate,
)
from loyalty_platform.webhooks.models import WebhookEvent
from tests.admin_portal.test_customer_pages import CUSTOMERS, owner_login
from tests.conftest import HostClient
from tests.pos_fixtures import create_customer
from tests.webhooks.event_helpers import subscribe


@pytest.fixture
def hooks(organization, in_organization):
    subscribe(organization)


def events_of(customer) -> list[tuple]:
    return list(
        ConsentEvent.objects.filter(customer_id=customer.pk)
        .order_by("created_at", "pk")
        .values_list("channel", "given", "source")
    )


def webhook_data(kind: str) -> list[dict]:
    return list(WebhookEvent.objects.filter(type=kind).order_by("pk").values_list("data", flat=True))


@pytest.mark.parametrize(
    ("source", "recorded"),
    [("pos_api", "till"), ("profile", "signup"), ("import", "import")],
)
def test_enrolling_records_each_channel_given_with_its_source(hooks, source, recorded):
    customer, is_new = customer_enroll(
        email="new@example.com",
        consent_terms=True,
        consent_privacy=True,
        consent_marketing=True,
        consent_sms=True,
        phone="+37061200001",
        source=source,
    )

    assert is_new
    assert customer.consent_marketing_at == customer.consent_sms_at == customer.consent_terms_at
    assert events_of(customer) == [("email", True, recorded), ("sms", True, recorded)]
    assert set(ConsentEvent.objects.values_list("created_at", flat=True)) == {customer.consent_marketing_at}
    (enrolled,) = webhook_data("customer.enrolled")
    assert (enrolled["consent_marketing"], enrolled["consent_sms"]) == (True, True)


def test_enrolling_without_marketing_consent_records_no_event(hooks):
    customer, _ = customer_enroll(email="quiet@example.com", consent_terms=True, consent_privacy=True)
    assert (customer.consent_marketing_at, customer.consent_sms_at) == (None, None)
    assert events_of(customer) == []
    (enrolled,) = webhook_data("customer.enrolled")
    assert (enrolled["consent_marketing"], enrolled["consent_sms"]) == (False, False)


def test_a_pending_member_joining_records_the_channels_they_chose(hooks):
    pending = Customer.objects.create(customer_code=654321, phone="+37061200002", status="pending")
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=pending.pk)
        pending_member_activate(
            customer=locked, email="", name="Ona", consent_marketing=False, consent_sms=True, source="phone"
        )
    saved = Customer.objects.get(pk=pending.pk)
    assert (saved.status, saved.consent_marketing_at, saved.consent_sms_at is not None) == (
        "active",
        None,
        True,
    )
    assert events_of(saved) == [("sms", True, "signup")]


def test_the_profile_service_records_the_change_once_with_audit_and_event(organization, hooks):
    customer = create_customer(organization)
    Customer.objects.filter(pk=customer.pk).update(phone="+37061200003")

    assert customer_marketing_consent_set(customer=customer, channel="sms", given=True, source="profile")
    assert not customer_marketing_consent_set(customer=customer, channel="sms", given=True, source="profile")
    assert customer_marketing_consent_set(customer=customer, channel="sms", given=False, source="staff")

    assert events_of(customer) == [("sms", True, "profile"), ("sms", False, "staff")]
    assert Customer.objects.get(pk=customer.pk).consent_sms_at is None
    assert list(
        AuditLogEntry.objects.filter(action="customers.consent")
        .order_by("pk")
        .values_list("details", flat=True)
    ) == [
        {"channel": "sms", "given": True, "source": "profile"},
        {"channel": "sms", "given": False, "source": "staff"},
    ]
    assert [data["changed"] for data in webhook_data("customer.updated")] == [
        ["consent_sms"],
        ["consent_sms"],
    ]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ({"channel": "fax", "given": True, "source": "profile"}, "consent_channel_invalid"),
        ({"channel": "email", "given": "yes", "source": "profile"}, "consent_channel_invalid"),
        ({"channel": "email", "given": True, "source": "gossip"}, "consent_channel_invalid"),
        ({"channel": "sms", "given": True, "source": "profile"}, "consent_sms_phone_required"),
    ],
)
def test_a_refused_consent_change_changes_nothing(organization, hooks, call, code):
    customer = create_customer(organization)
    before = (
        list(
            Customer.objects.filter(pk=customer.pk).values_list(
                "consent_marketing_at", "consent_sms_at", "updated_at"
            )
        ),
        ConsentEvent.objects.count(),
        AuditLogEntry.objects.count(),
        WebhookEvent.objects.count(),
    )
    with pytest.raises(DomainError, match=f"^{code}$"):
        customer_marketing_consent_set(customer=customer, **call)
    assert (
        list(
            Customer.objects.filter(pk=customer.pk).values_list(
                "consent_marketing_at", "consent_sms_at", "updated_at"
            )
        ),
        ConsentEvent.objects.count(),
        AuditLogEntry.objects.count(),
        WebhookEvent.objects.count(),
    ) == before


def test_the_unsubscribe_link_withdraws_the_email_channel_only_and_records_it(organization, hooks):
    customer = create_customer(organization)
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        consent_marketing_at=now, consent_sms_at=now, phone="+37061200004"
    )

    assert customer_unsubscribe(customer_id=customer.pk, campaign_id=None)
    assert not customer_unsubscribe(customer_id=customer.pk, campaign_id=None)

    saved = Customer.objects.get(pk=customer.pk)
    assert (saved.consent_marketing_at, saved.consent_sms_at) == (None, now)
    assert events_of(customer) == [("email", False, "unsubscribe")]


def test_campaign_emails_reach_email_consenters_only(organization, in_organization):
    email_only, sms_only, both, _nothing = (create_customer(organization) for _ in range(4))
    now = timezone.now()
    Customer.objects.filter(pk__in=[email_only.pk, both.pk]).update(consent_marketing_at=now)
    Customer.objects.filter(pk__in=[sms_only.pk, both.pk]).update(consent_sms_at=now, phone="+37061200005")

    reached = messages.reachable(Customer.objects.all())

    assert sorted(reached.values_list("pk", flat=True)) == sorted([email_only.pk, both.pk])


def test_the_export_holds_both_channels_and_the_history(organization, in_organization):
    customer = create_customer(organization)
    Customer.objects.filter(pk=customer.pk).update(phone="+37061200006")
    customer_marketing_consent_set(customer=customer, channel="email", given=True, source="profile")
    customer_marketing_consent_set(customer=customer, channel="sms", given=True, source="profile")
    customer_marketing_consent_set(customer=customer, channel="email", given=False, source="profile")
    saved = Customer.objects.get(pk=customer.pk)
    events = list(ConsentEvent.objects.order_by("pk"))

    consents = customer_export(customer=saved)["consents"]

    assert consents["marketing_at"] is None
    assert consents["marketing_sms_at"] == saved.consent_sms_at.isoformat()
    assert consents["history"] == [
        {"at": events[0].created_at.isoformat(), "channel": "email", "given": True, "source": "profile"},
        {"at": events[1].created_at.isoformat(), "channel": "sms", "given": True, "source": "profile"},
        {"at": events[2].created_at.isoformat(), "channel": "email", "given": False, "source": "profile"},
    ]


@pytest.mark.parametrize(("by_staff", "source"), [(False, "profile"), (True, "staff")])
def test_erasure_withdraws_the_consents_given_and_keeps_the_history(organization, hooks, by_staff, source):
    actor = User.objects.create_user("manager@example.com", "pw", is_staff=True) if by_staff else None
    customer = create_customer(organization)
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(phone="+37061200007")
    customer_marketing_consent_set(customer=customer, channel="sms", given=True, source="profile")
    PhoneChange.objects.create(
        customer=customer,
        phone="+37061200008",
        remaining_attempts=5,
        created_at=now,
        expires_at=now + timedelta(minutes=10),
    )

    customer_erase(customer=customer, actor=actor, reason="asked")

    saved = Customer.objects.get(pk=customer.pk)
    assert (saved.consent_marketing_at, saved.consent_sms_at, saved.phone) == (None, None, "")
    assert events_of(customer) == [("sms", True, "profile"), ("sms", False, source)]
    assert PhoneChange.objects.filter(customer_id=customer.pk).count() == 0
    erased = webhook_data("customer.updated")[-1]
    assert erased["changed"] == [
        "birth_date",
        "consent_marketing",
        "consent_sms",
        "email",
        "name",
        "phone",
        "status",
    ]
    assert (erased["consent_marketing"], erased["consent_sms"]) == (False, False)


def test_the_staff_timeline_tells_the_history_in_words_without_duplicate_audit_lines(
    organization, in_organization
):
    customer = Customer.objects.get(pk=create_customer(organization).pk)
    customer_marketing_consent_set(customer=customer, channel="email", given=True, source="profile")
    customer_marketing_consent_set(customer=customer, channel="email", given=False, source="unsubscribe")

    titles = [
        (item.title, item.detail) for item in customer_timeline(customer, limit=20) if item.kind != "staff"
    ]

    assert titles[:2] == [
        ("Withdrew consent to offers by email", "Unsubscribe link"),
        ("Agreed to offers by email", "The customer's profile"),
    ]
    assert not [
        item
        for item in customer_timeline(customer, limit=20)
        if "consent" in item.title.lower() and item.kind == "staff"
    ]
    assert [line.title for line in consent_history(customer)] == [
        "Withdrew consent to offers by email",
        "Agreed to offers by email",
    ]


@pytest.mark.parametrize(("phone", "sms_events"), [("+37061200010", [("sms", True, "signup")]), ("", [])])
def test_the_signup_page_records_offers_by_text_only_with_a_number(
    organization, mailoutbox, phone, sms_events
):
    response = HostClient(organization).post(
        "/me/signup",
        {
            "email": "texts@example.com",
            "phone": phone,
            "consent_terms": "on",
            "consent_privacy": "on",
            "consent_sms": "on",
        },
    )
    assert response.status_code == 200
    with tenant_context(organization):
        customer = Customer.objects.get(email="texts@example.com")
        assert (customer.consent_marketing_at, customer.consent_sms_at is not None) == (None, bool(phone))
        assert events_of(customer) == sms_events


def test_the_portal_shows_both_channels_and_the_history(organization, other_organization, client_a, client_b):
    customer = create_customer(organization)
    with tenant_context(organization):
        Customer.objects.filter(pk=customer.pk).update(phone="+37061200011")
        customer_marketing_consent_set(customer=customer, channel="sms", given=True, source="profile")
        customer_marketing_consent_set(customer=customer, channel="sms", given=False, source="unsubscribe")
    owner_login(client_a, organization)

    response = client_a.get(f"{CUSTOMERS}{customer.pk}/change/")
    page = response.content.decode()

    assert "Offers by text message since" in page
    assert "Withdrew consent to offers by text message (Unsubscribe link)" in page
    assert "Agreed to offers by text message (The customer&#x27;s profile)" in page
    # Organization B's portal has no such history for its own row of the same pk.
    owner_login(client_b, other_organization)
    other = client_b.get(f"{CUSTOMERS}{customer.pk}/change/").content.decode()
    assert "offers by text message (" not in other


def test_the_migration_starts_each_history_where_the_email_consent_column_does(organization, in_organization):
    backfill = importlib.import_module(
        "loyalty_platform.customers.migrations.0009_consent_per_channel"
    ).BACKFILL
    consenting, quiet = create_customer(organization), create_customer(organization)
    given_at = timezone.now() - timedelta(days=30)
    Customer.objects.filter(pk=consenting.pk).update(consent_marketing_at=given_at)

    with connection.cursor() as cursor:
        cursor.execute(backfill)

    assert list(
        ConsentEvent.objects.values_list("customer_id", "channel", "given", "source", "created_at")
    ) == [(consenting.pk, "email", True, "earlier", given_at)]
    assert events_of(quiet) == []
    assert [line.source for line in consent_history(consenting)] == ["Before the history was kept"]
