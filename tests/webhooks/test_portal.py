"""The webhook pages of the merchant portal over the test client: each page and action, who may
use them, bad input of every kind (a form error, 400 or 404, never a 500, and nothing changed),
and another organization's ids."""

import html
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.webhooks import services
from loyalty_platform.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
)
from tests.conftest import HostClient
from tests.factories import StaffUserFactory
from tests.webhooks.event_helpers import delivery_row

PASSWORD = "correct horse battery"
URL = "http://127.0.0.1:9/hook"
BASE = "/admin/webhooks/webhookendpoint/"
ROLES = ("owner", "manager", "developer", "cashier", "marketing")


def signed_in(organization, role: str, **client_options) -> HostClient:
    with tenant_context(organization):
        email = f"{role}-{organization.slug}@example.com"
        StaffUserFactory(email=email, role=role)
    client = HostClient(organization, **client_options)
    assert client.login(email=email, password=PASSWORD)
    return client


@pytest.fixture
def developer(organization):
    return signed_in(organization, "developer")


@pytest.fixture
def endpoint(organization):
    with tenant_context(organization):
        owner = StaffUserFactory(email="endpoint-owner@example.com")
        created, _secret = services.endpoint_create(
            url=URL, description="CRM", event_types=["points.earned"], staff_user=owner
        )
        return created


def delivery_of(organization, endpoint, *, status="failed", minutes_ago=60, attempts=6) -> WebhookDelivery:
    with tenant_context(organization):
        at = timezone.now() - timedelta(minutes=minutes_ago)
        return delivery_row(endpoint, status=status, at=at, attempts=attempts, last_response_status=503)


def rows(organization) -> dict:
    with tenant_context(organization):
        return {
            "endpoints": list(
                WebhookEndpoint.objects.order_by("pk").values_list(
                    "pk", "url", "description", "event_types", "is_enabled"
                )
            ),
            "secrets": list(WebhookSecret.objects.order_by("pk").values_list("pk", "secret", "expires_at")),
            "events": list(WebhookEvent.objects.order_by("pk").values_list("pk", "type")),
            "deliveries": list(
                WebhookDelivery.objects.order_by("pk").values_list(
                    "pk", "status", "attempts", "next_attempt_at"
                )
            ),
            "audit": list(AuditLogEntry.objects.order_by("pk").values_list("pk", "action")),
        }


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- Adding an endpoint, and its secret shown once ----------------------------------------------


def test_the_add_page_offers_every_event_with_its_description_and_all_events(developer):
    page = text(developer.get(f"{BASE}add/"))
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="all_events"' in page
    assert "All events, also those added later" in page
    assert page.count('name="events"') == 18
    assert "points.earned</code>: Points were added: a purchase, an order or a campaign." in page


def test_a_developer_adds_an_endpoint_and_sees_its_secret_exactly_once(organization, developer):
    response = developer.post(
        f"{BASE}add/",
        {"url": URL, "description": "CRM sync", "events": ["tier.changed", "points.earned"]},
    )

    with tenant_context(organization):
        endpoint = WebhookEndpoint.objects.get()
        secret = endpoint.secrets.get().secret
        assert (endpoint.url, endpoint.description, endpoint.event_types, endpoint.created_by.email) == (
            URL,
            "CRM sync",
            ["points.earned", "tier.changed"],
            "developer-test-a@example.com",
        )
        assert list(AuditLogEntry.objects.values_list("action", flat=True)) == ["webhook_endpoint_create"]
    assert (response.status_code, response["Location"]) == (302, f"{BASE}{endpoint.pk}/secret/")

    first = developer.get(response["Location"])
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    assert f'value="{secret}"' in text(first)
    again = developer.get(response["Location"])
    assert again.status_code == 200
    assert secret not in text(again) and "data-secret-gone" in text(again)
    change = text(developer.get(f"{BASE}{endpoint.pk}/change/"))
    assert secret[:10] in change and secret not in change
    listing = text(developer.get(BASE))
    assert URL in listing and secret[:10] not in listing


def test_the_secret_page_of_another_endpoint_does_not_spend_or_show_the_new_secret(
    organization, developer, endpoint
):
    response = developer.post(f"{BASE}add/", {"url": URL, "description": "", "all_events": "on"})
    with tenant_context(organization):
        new = WebhookEndpoint.objects.exclude(pk=endpoint.pk).get()
        secret = new.secrets.get().secret
        assert new.event_types == ["*"]

    assert secret not in text(developer.get(f"{BASE}{endpoint.pk}/secret/"))
    assert secret in text(developer.get(response["Location"]))


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"url": "ftp://127.0.0.1/x", "events": ["points.earned"]}, "Enter an http(s) URL"),
        ({"url": "", "events": ["points.earned"]}, "This field is required."),
        ({"url": "http://127.0.0.1:9/a b", "events": ["points.earned"]}, "Enter an http(s) URL"),
        ({"url": "http://no-such-host.invalid/", "events": ["points.earned"]}, "does not resolve"),
        ({"url": URL, "events": []}, "Choose at least one event, or all events."),
        ({"url": URL, "events": ["points.stolen"]}, "Select a valid choice."),
        ({"url": URL, "events": ["webhook.test"]}, "Select a valid choice."),
        ({"url": URL, "events": ["points.earned"], "description": "x" * 201}, "at most 200 characters"),
        ({"url": URL + "x" * 2000, "events": ["points.earned"]}, "at most 2000 characters"),
    ],
)
def test_bad_input_on_the_add_page_is_a_form_error_and_adds_nothing(
    organization, developer, data, field_error
):
    before = rows(organization)
    response = developer.post(f"{BASE}add/", data)
    assert response.status_code == 200
    assert field_error in text(response)
    assert rows(organization) == before


@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False)
def test_a_private_address_is_refused_outside_development(organization, developer):
    response = developer.post(f"{BASE}add/", {"url": "http://10.0.0.5/hook", "events": ["points.earned"]})
    assert response.status_code == 200
    assert "private, loopback, link-local or reserved address" in text(response)
    assert rows(organization)["endpoints"] == []


def test_the_change_page_saves_through_the_service(organization, developer, endpoint):
    response = developer.post(
        f"{BASE}{endpoint.pk}/change/",
        {"url": "http://127.0.0.1:10/new", "description": "CRM", "events": ["coupon.issued"]},
    )
    assert response.status_code == 302
    with tenant_context(organization):
        endpoint.refresh_from_db()
        assert (endpoint.url, endpoint.event_types) == ("http://127.0.0.1:10/new", ["coupon.issued"])
        assert AuditLogEntry.objects.filter(action="webhook_endpoint_update").count() == 1


def test_the_change_page_shows_status_actions_and_links(developer, endpoint):
    page = text(developer.get(f"{BASE}{endpoint.pk}/change/"))
    for piece in (
        f'action="{BASE}{endpoint.pk}/enabled/"',
        f'action="{BASE}{endpoint.pk}/test/"',
        f'href="{BASE}{endpoint.pk}/rotate/"',
        f'href="{BASE}{endpoint.pk}/deliveries/"',
        f'href="{BASE}{endpoint.pk}/verify/"',
        "Send test event",
        "Signing secret",
    ):
        assert piece in page, piece


# --- Rotating ----------------------------------------------------------------------------------


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_for_the_overlap(
    organization, developer, endpoint
):
    with tenant_context(organization):
        old = endpoint.secrets.get()
    form = text(developer.get(f"{BASE}{endpoint.pk}/rotate/"))
    assert [value for value in re.findall(r'name="overlap_hours" value="(\d+)"', form)] == [
        "0",
        "1",
        "24",
        "168",
    ]

    response = developer.post(f"{BASE}{endpoint.pk}/rotate/", {"overlap_hours": "24"})

    assert (response.status_code, response["Location"]) == (302, f"{BASE}{endpoint.pk}/secret/")
    with tenant_context(organization):
        new, previous = endpoint.secrets.all()
        assert previous.pk == old.pk and previous.expires_at - new.created_at == timedelta(hours=24)
    assert new.secret in text(developer.get(response["Location"]))
    assert new.secret not in text(developer.get(response["Location"]))
    change = text(developer.get(f"{BASE}{endpoint.pk}/change/"))
    assert "Previous secret, still signing" in change and old.secret[:10] in change


@pytest.mark.parametrize("overlap", ["2", "", "abc", "-1", "24.5"])
def test_an_overlap_not_offered_is_a_form_error_and_rotates_nothing(
    organization, developer, endpoint, overlap
):
    before = rows(organization)
    response = developer.post(f"{BASE}{endpoint.pk}/rotate/", {"overlap_hours": overlap})
    assert response.status_code == 400
    assert 'class="errors ' in response.content.decode()
    assert rows(organization) == before


# --- Enable, disable, test event ---------------------------------------------------------------


def test_disable_and_enable(organization, developer, endpoint):
    assert developer.post(f"{BASE}{endpoint.pk}/enabled/", {"enabled": "0"}).status_code == 302
    with tenant_context(organization):
        endpoint.refresh_from_db()
        assert (endpoint.is_enabled, endpoint.disabled_reason) == (
            False,
            "disabled by developer-test-a@example.com",
        )
    assert "Send test event" not in text(developer.get(f"{BASE}{endpoint.pk}/change/"))

    assert developer.post(f"{BASE}{endpoint.pk}/enabled/", {"enabled": "1"}).status_code == 302
    with tenant_context(organization):
        endpoint.refresh_from_db()
        assert (endpoint.is_enabled, endpoint.disabled_at) == (True, None)


@pytest.mark.parametrize("data", [{}, {"enabled": "yes"}, {"enabled": "2"}])
def test_a_bad_enabled_value_is_400_and_changes_nothing(organization, developer, endpoint, data):
    before = rows(organization)
    assert developer.post(f"{BASE}{endpoint.pk}/enabled/", data).status_code == 400
    assert rows(organization) == before


def test_send_test_event_queues_one_delivery_and_opens_it(organization, developer, endpoint):
    response = developer.post(f"{BASE}{endpoint.pk}/test/")
    with tenant_context(organization):
        delivery = WebhookDelivery.objects.select_related("event").get()
        assert (delivery.endpoint_id, delivery.event.type, delivery.status) == (
            endpoint.pk,
            "webhook.test",
            "pending",
        )
    assert (response.status_code, response["Location"]) == (
        302,
        f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/",
    )
    page = text(developer.get(response["Location"]))
    assert delivery.event.public_id in page and "Not attempted yet" in page


def test_a_test_event_to_a_disabled_endpoint_is_refused(organization, developer, endpoint):
    developer.post(f"{BASE}{endpoint.pk}/enabled/", {"enabled": "0"})
    before = rows(organization)
    response = developer.post(f"{BASE}{endpoint.pk}/test/")
    assert response.status_code == 409
    assert 'data-error="webhook_endpoint_disabled"' in response.content.decode()
    assert rows(organization) == before


@pytest.mark.parametrize("action", ["enabled", "test", "deliveries/redeliver-failed"])
def test_post_only_actions_answer_405_to_get(developer, endpoint, action):
    assert developer.get(f"{BASE}{endpoint.pk}/{action}/").status_code == 405


def test_every_post_needs_the_csrf_token(organization, endpoint):
    client = signed_in(organization, "developer", enforce_csrf_checks=True)
    delivery = delivery_of(organization, endpoint)
    before = rows(organization)
    for url, data in (
        (f"{BASE}add/", {"url": URL, "events": ["points.earned"]}),
        (f"{BASE}{endpoint.pk}/enabled/", {"enabled": "0"}),
        (f"{BASE}{endpoint.pk}/test/", {}),
        (f"{BASE}{endpoint.pk}/rotate/", {"overlap_hours": "0"}),
        (f"{BASE}{endpoint.pk}/deliveries/redeliver-failed/", {"since": "2020-01-01T00:00"}),
        (f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/", {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert rows(organization) == before


# --- The delivery log --------------------------------------------------------------------------


def test_the_log_lists_deliveries_newest_first_fifty_a_page(organization, developer, endpoint):
    deliveries = [delivery_of(organization, endpoint, minutes_ago=100 - n) for n in range(55)]
    first = text(developer.get(f"{BASE}{endpoint.pk}/deliveries/"))
    ids = [int(found) for found in re.findall(r'data-delivery="(\d+)"', first)]
    assert ids == [delivery.pk for delivery in reversed(deliveries)][:50]
    assert "Page 1 of 2" in first
    second = text(developer.get(f"{BASE}{endpoint.pk}/deliveries/?page=2"))
    assert [int(found) for found in re.findall(r'data-delivery="(\d+)"', second)] == [
        delivery.pk for delivery in reversed(deliveries[:5])
    ]
    for bad in ("abc", "0", "999", "-1"):
        assert developer.get(f"{BASE}{endpoint.pk}/deliveries/?page={bad}").status_code == 200
    row = first[first.index(f'data-delivery="{deliveries[-1].pk}"') :]
    for piece in ("points.earned", deliveries[-1].event.public_id, "Failed", "503"):
        assert piece in row[:1500], piece


def test_the_delivery_page_shows_every_attempt(organization, developer, endpoint):
    delivery = delivery_of(organization, endpoint, attempts=2)
    with tenant_context(organization):
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=1,
            outcome="failed",
            request_url=URL,
            request_headers={"webhook-id": delivery.event.public_id, "content-type": "application/json"},
            request_body='{"id": "evt", "type": "points.earned"}',
            error="timeout",
            duration_ms=5000,
        )
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=2,
            outcome="failed",
            request_url=URL,
            request_headers={"webhook-id": delivery.event.public_id},
            request_body="{}",
            response_status=503,
            response_body="<b>down for maintenance</b>",
            duration_ms=12,
        )
    response = developer.get(f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/")
    page = response.content.decode()
    assert re.findall(r'data-attempt="(\d+)"', page) == ["2", "1"]
    for piece in (
        f"webhook-id: {delivery.event.public_id}",
        "content-type: application/json",
        "&lt;b&gt;down for maintenance&lt;/b&gt;",
        "5000 ms",
        "timeout",
        "503",
        URL,
        f'action="{BASE}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"',
    ):
        assert piece in page, piece


def test_redeliver_one_delivery(organization, developer, endpoint):
    delivery = delivery_of(organization, endpoint)
    response = developer.post(f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert (response.status_code, response["Location"]) == (
        302,
        f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/",
    )
    with tenant_context(organization):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.attempts_total) == ("pending", 0, 6)


def test_redeliver_failed_since_a_time(organization, developer, endpoint):
    old = delivery_of(organization, endpoint, minutes_ago=600)
    recent = delivery_of(organization, endpoint, minutes_ago=30)
    since = timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    response = developer.post(f"{BASE}{endpoint.pk}/deliveries/redeliver-failed/", {"since": since})

    assert (response.status_code, response["Location"]) == (302, f"{BASE}{endpoint.pk}/deliveries/")
    with tenant_context(organization):
        assert dict(WebhookDelivery.objects.values_list("pk", "status")) == {
            old.pk: "failed",
            recent.pk: "pending",
        }
    assert "1 failed deliveries are sent again." in text(developer.get(response["Location"]))


@pytest.mark.parametrize("since", ["", "yesterday", "2025-13-01T10:00", "2025-02-30T10:00", "9" * 500])
def test_a_bad_time_is_400_and_redelivers_nothing(organization, developer, endpoint, since):
    delivery_of(organization, endpoint)
    before = rows(organization)
    response = developer.post(f"{BASE}{endpoint.pk}/deliveries/redeliver-failed/", {"since": since})
    assert response.status_code == 400
    assert 'class="errors ' in response.content.decode()
    assert rows(organization) == before


# --- Ids of nothing, other organizations -------------------------------------------------------


def test_ids_of_nothing_are_404_and_change_nothing(organization, developer, endpoint):
    delivery = delivery_of(organization, endpoint)
    other, _secret = (None, None)
    with tenant_context(organization):
        other, _secret = services.endpoint_create(
            url=URL, description="", event_types=["*"], staff_user=endpoint.created_by
        )
    before = rows(organization)
    missing = endpoint.pk + other.pk + 1000
    for url in (
        f"{BASE}{missing}/secret/",
        f"{BASE}{missing}/rotate/",
        f"{BASE}{missing}/verify/",
        f"{BASE}{missing}/deliveries/",
        f"{BASE}{missing}/deliveries/{delivery.pk}/",
        f"{BASE}{other.pk}/deliveries/{delivery.pk}/",
        f"{BASE}{endpoint.pk}/deliveries/{delivery.pk + 1000}/",
    ):
        assert developer.get(url).status_code == 404, url
    for url, data in (
        (f"{BASE}{missing}/enabled/", {"enabled": "0"}),
        (f"{BASE}{missing}/test/", {}),
        (f"{BASE}{missing}/rotate/", {"overlap_hours": "0"}),
        (f"{BASE}{missing}/deliveries/redeliver-failed/", {"since": "2020-01-01T00:00"}),
        (f"{BASE}{other.pk}/deliveries/{delivery.pk}/redeliver/", {}),
        (f"{BASE}{endpoint.pk}/deliveries/{delivery.pk + 1000}/redeliver/", {}),
    ):
        assert developer.post(url, data).status_code == 404, url
    assert rows(organization) == before


def test_staff_of_another_organization_see_their_own_endpoint_or_404_never_ours(
    organization, other_organization, endpoint
):
    """Primary keys repeat across schemas: organization B has an endpoint with our endpoint's id."""
    ours = delivery_of(organization, endpoint)
    with tenant_context(organization):
        only_ours, _secret = services.endpoint_create(
            url="http://127.0.0.1:9/only-a", description="", event_types=["*"], staff_user=endpoint.created_by
        )
    with tenant_context(other_organization):
        WebhookEndpoint.objects.create(pk=endpoint.pk, url="http://127.0.0.1:9/b-side", event_types=["*"])
    theirs = signed_in(other_organization, "developer")
    ours_before = rows(organization)

    page = text(theirs.get(f"{BASE}{endpoint.pk}/change/"))
    assert "http://127.0.0.1:9/b-side" in page and URL not in page
    log = text(theirs.get(f"{BASE}{endpoint.pk}/deliveries/"))
    assert ours.event.public_id not in log and "Nothing was sent to this endpoint yet." in log
    assert theirs.get(f"{BASE}{endpoint.pk}/deliveries/{ours.pk}/").status_code == 404
    assert theirs.get(f"{BASE}{only_ours.pk}/change/").status_code == 302  # the admin's "does not exist"
    for suffix in ("secret/", "rotate/", "verify/", "deliveries/"):
        assert theirs.get(f"{BASE}{only_ours.pk}/{suffix}").status_code == 404, suffix

    assert theirs.post(f"{BASE}{endpoint.pk}/deliveries/{ours.pk}/redeliver/").status_code == 404
    assert theirs.post(f"{BASE}{only_ours.pk}/test/").status_code == 404
    assert theirs.post(f"{BASE}{only_ours.pk}/enabled/", {"enabled": "0"}).status_code == 404
    response = theirs.post(f"{BASE}{endpoint.pk}/deliveries/redeliver-failed/", {"since": "2000-01-01T00:00"})
    assert response.status_code == 302  # B's own endpoint of that id: it has nothing failed
    assert rows(organization) == ours_before


# --- Who may ------------------------------------------------------------------------------------


def test_owners_managers_and_developers_use_the_pages_cashiers_and_marketing_do_not(organization, endpoint):
    delivery = delivery_of(organization, endpoint)
    pages = [
        BASE,
        f"{BASE}add/",
        f"{BASE}{endpoint.pk}/change/",
        f"{BASE}{endpoint.pk}/secret/",
        f"{BASE}{endpoint.pk}/rotate/",
        f"{BASE}{endpoint.pk}/verify/",
        f"{BASE}{endpoint.pk}/deliveries/",
        f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/",
    ]
    answers = {}
    for role in ROLES:
        client = signed_in(organization, role)
        answers[role] = [client.get(url).status_code for url in pages]
    assert answers == {
        "owner": [200] * 8,
        "manager": [200] * 8,
        "developer": [200] * 8,
        "cashier": [403] * 8,
        "marketing": [403] * 8,
    }


@pytest.mark.parametrize("role", ["cashier", "marketing"])
def test_refused_roles_change_nothing(organization, endpoint, role):
    client = signed_in(organization, role)
    delivery = delivery_of(organization, endpoint)
    before = rows(organization)
    for url, data in (
        (f"{BASE}add/", {"url": URL, "events": ["points.earned"]}),
        (f"{BASE}{endpoint.pk}/change/", {"url": URL, "description": "x", "all_events": "on"}),
        (f"{BASE}{endpoint.pk}/delete/", {"post": "yes"}),
        (f"{BASE}{endpoint.pk}/enabled/", {"enabled": "0"}),
        (f"{BASE}{endpoint.pk}/test/", {}),
        (f"{BASE}{endpoint.pk}/rotate/", {"overlap_hours": "0"}),
        (f"{BASE}{endpoint.pk}/deliveries/redeliver-failed/", {"since": "2020-01-01T00:00"}),
        (f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/", {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert rows(organization) == before


def test_developers_land_on_their_endpoints_and_see_webhooks_in_the_sidebar(organization):
    developer = signed_in(organization, "developer")
    assert developer.get("/admin/")["Location"] == BASE
    page = text(developer.get(BASE))
    assert 'href="/admin/webhooks/webhookendpoint/"' in page and 'href="/admin/tenants/apikey/"' in page
    assert 'href="/admin/customers/customer/"' not in page
    assert developer.get("/admin/customers/customer/").status_code == 403
    assert developer.get("/admin/tenants/apikey/").status_code == 200
