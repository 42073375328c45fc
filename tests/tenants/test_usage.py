"""Usage metering: API calls and messages counted per organization and UTC day in Redis,
flushed into UsageDay exactly once; customers and storage measured daily."""

from datetime import timedelta

import pytest
from django.core.mail import send_mail
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.celery import app
from loyalty_platform.core import faults
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.metering import usage_add, usage_day, usage_key
from tenants.models import UsageDay
from tenants.tasks import flush_usage, measure_usage
from tenants.usage import usage_flush, usage_measure, usage_this_month
from tests.pos_fixtures import PosClient, create_customer
from tests.processes import free_port


def counter(organization, metric: str, day=None) -> int | None:
    value = lp_redis.client().get(usage_key(organization.schema_name, day or usage_day(), metric))
    return None if value is None else int(value)


def usage_rows(*organizations) -> list[tuple]:
    return list(
        UsageDay.objects.filter(organization__in=organizations)
        .order_by("organization__slug", "day")
        .values_list("organization__slug", "day", "api_calls", "messages")
    )


def test_each_pos_call_counts_for_its_own_organization(organization, other_organization, programs, key_a):
    customer = create_customer(organization)
    pos = PosClient("test-a.localhost", key_a)

    statuses = [pos.get("/webhook/customer", {"code": customer.customer_code}).status_code for _ in range(3)]
    statuses.append(
        pos.post(
            "/webhook/pos", {"customer_code": customer.customer_code, "amount": 5, "external_id": "u-1"}
        ).status_code
    )

    assert statuses == [200, 200, 200, 200]
    assert counter(organization, "api_calls") == 4
    assert counter(other_organization, "api_calls") is None


def test_a_refused_key_is_not_counted(organization, programs):
    response = PosClient("test-a.localhost", "sk_live_000000000000_wrong").get(
        "/webhook/customer", {"code": 1}
    )

    assert response.status_code == 401
    assert counter(organization, "api_calls") is None


@pytest.fixture
def counting_mail(settings):
    settings.EMAIL_BACKEND = "loyalty_platform.core.mail.CountingBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_every_email_sent_in_an_organization_counts_as_its_message(
    organization, other_organization, counting_mail, mailoutbox
):
    with tenant_context(organization):
        send_mail("a", "body", None, ["x@example.com"])
        send_mail("b", "body", None, ["y@example.com"])
    with tenant_context(other_organization):
        send_mail("c", "body", None, ["z@example.com"])
    send_mail("platform", "body", None, ["op@example.com"])  # the public schema's: no organization

    assert [message.subject for message in mailoutbox] == ["a", "b", "c", "platform"]
    assert (counter(organization, "messages"), counter(other_organization, "messages")) == (2, 1)
    assert counter(organization, "api_calls") is None


def test_the_flush_moves_each_count_once(organization, other_organization):
    today = usage_day()
    usage_add(schema_name=organization.schema_name, metric="api_calls", amount=7)
    usage_add(schema_name=organization.schema_name, metric="messages", amount=2)
    usage_add(schema_name=other_organization.schema_name, metric="api_calls", amount=1)

    assert usage_flush() == 3
    assert usage_rows(organization, other_organization) == [("test-a", today, 7, 2), ("test-b", today, 1, 0)]
    assert (counter(organization, "api_calls"), counter(organization, "messages")) == (None, None)
    # Nothing left: a second flush adds nothing.
    assert usage_flush() == 0
    # Counted again after the flush: added to the same row.
    usage_add(schema_name=organization.schema_name, metric="api_calls", amount=5)
    assert usage_flush() == 1
    assert usage_rows(organization, other_organization) == [("test-a", today, 12, 2), ("test-b", today, 1, 0)]


def test_the_flush_takes_yesterday_too_and_stamps_last_activity(organization, other_organization):
    now = timezone.now()
    yesterday = usage_day(now) - timedelta(days=1)
    lp_redis.client().set(usage_key(organization.schema_name, yesterday, "api_calls"), 4)

    usage_flush(now=now)

    assert usage_rows(organization) == [("test-a", yesterday, 4, 0)]
    organization.refresh_from_db()
    other_organization.refresh_from_db()
    assert (organization.last_activity_at, other_organization.last_activity_at) == (now, None)


def test_a_flush_after_a_week_without_one_still_takes_every_kept_day(organization):
    """Beat or the worker down from one Friday to the next: those days' counts still land."""
    now = timezone.now()
    week_ago = usage_day(now) - timedelta(days=7)
    lp_redis.client().set(usage_key(organization.schema_name, week_ago, "api_calls"), 6)

    usage_flush(now=now)

    assert usage_rows(organization) == [("test-a", week_ago, 6, 0)]


@pytest.fixture
def usage_insert_fails_for(db):
    """A real database error in the middle of the flush: a trigger refusing one
    organization's row, after the rows before it were written in the same transaction."""

    def install(organization) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION public.refuse_usage() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.organization_id = {int(organization.pk)} THEN "
                "RAISE EXCEPTION 'usage refused for the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_usage BEFORE INSERT ON public.tenants_usageday "
                "FOR EACH ROW EXECUTE FUNCTION public.refuse_usage()"
            )

    def remove() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_usage ON public.tenants_usageday")
            cursor.execute("DROP FUNCTION public.refuse_usage()")

    install.remove = remove
    return install


def test_a_database_error_gives_every_count_back(organization, other_organization, usage_insert_fails_for):
    today = usage_day()
    usage_add(schema_name=organization.schema_name, metric="api_calls", amount=3)
    usage_add(schema_name=other_organization.schema_name, metric="messages", amount=2)
    usage_insert_fails_for(other_organization)  # written after organization A's row

    with pytest.raises(DatabaseError):
        usage_flush()

    assert usage_rows(organization, other_organization) == []
    assert (counter(organization, "api_calls"), counter(other_organization, "messages")) == (3, 2)
    organization.refresh_from_db()
    assert organization.last_activity_at is None

    # Counted meanwhile, then the database is back: every count once.
    usage_add(schema_name=organization.schema_name, metric="api_calls", amount=1)
    usage_insert_fails_for.remove()
    assert usage_flush() == 2
    assert usage_rows(organization, other_organization) == [("test-a", today, 4, 0), ("test-b", today, 0, 2)]


def test_with_redis_down_counting_fails_open(organization, monkeypatch, settings, counting_mail, mailoutbox):
    monkeypatch.setattr(lp_redis, "outage", lp_redis._Outage())
    monkeypatch.setattr(faults, "_log_throttle", faults._LogThrottle())
    lp_redis.client.cache_clear()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    try:
        usage_add(schema_name=organization.schema_name, metric="api_calls")
        with tenant_context(organization):
            sent = send_mail("still sent", "body", None, ["x@example.com"])
    finally:
        lp_redis.client.cache_clear()

    assert sent == 1
    assert [message.subject for message in mailoutbox] == ["still sent"]


def test_the_daily_measurement_counts_members_and_bytes(organization, other_organization):
    for _ in range(3):
        create_customer(organization)
    with tenant_context(organization):
        measured = usage_measure(organization=organization)
        again = usage_measure(organization=organization)

    assert (measured.customers, measured.api_calls, measured.messages) == (3, 0, 0)
    assert measured.storage_bytes > 100_000  # the schema's tables and indexes, not nothing
    assert (again.pk, again.customers) == (measured.pk, 3)
    assert not UsageDay.objects.filter(organization=other_organization).exists()
    with pytest.raises(RuntimeError):
        usage_measure(organization=other_organization)  # not in its schema


def test_the_measurement_keeps_the_day_s_counted_usage(organization):
    usage_add(schema_name=organization.schema_name, metric="api_calls", amount=9)
    usage_flush()
    create_customer(organization)
    with tenant_context(organization):
        usage_measure(organization=organization)

    usage = usage_this_month(organization_ids=[organization.pk], today=usage_day())[organization.pk]
    assert (usage.api_calls, usage.messages, usage.customers) == (9, 0, 1)


def test_beat_flushes_every_few_minutes_and_measures_each_organization_daily(organization):
    schedule = app.conf.beat_schedule
    assert (schedule["flush-usage"]["task"], schedule["flush-usage"]["schedule"]) == (flush_usage.name, 300.0)
    assert schedule["measure-usage"]["args"] == [measure_usage.name]

    usage_add(schema_name=organization.schema_name, metric="messages", amount=2)
    assert flush_usage.apply().get() == {"counters": 1}
    create_customer(organization)
    with tenant_context(organization):
        measured = measure_usage.apply().get()

    row = UsageDay.objects.get(organization=organization)
    assert (row.messages, row.customers) == (2, 1)
    assert measured == {"customers": 1, "storage_bytes": row.storage_bytes}
    assert row.storage_bytes > 0
