"""Warnings before points expire (programs.warnings, docs/decisions/0048-expiry-warnings.md):
one email per card and run listing the lots that come within the program's warning days,
each lot warned once, in the organization's time zone and branding; opted-out, erased and
addressless customers handled without email, blocked ones left for later; the minute's
email budget shared with campaigns; real Celery workers, two at once, and a run that
stopped half-way."""

import os
import socket
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from celery.signals import after_task_publish
from django_tenants.utils import tenant_context

from loyalty_platform.campaigns.messages import rate_reserve
from loyalty_platform.celery import app
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs import warnings
from loyalty_platform.programs.lots import add_months
from loyalty_platform.programs.models import Card, PointLot, Program
from loyalty_platform.programs.services import customer_earn
from loyalty_platform.programs.tasks import warn_points_expiry
from tenants.models import JobStatus
from tests.mail_files import emails_in, emails_to
from tests.pos_fixtures import committed_organization, create_customer, create_programs
from tests.processes import celery_worker, free_port

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
MONTHS = 12
DAYS = 7


def expiring(program: Program, *, rule: str = Program.PointsExpiry.LIFETIME, days: int = DAYS) -> Program:
    program.points_expiry = rule
    program.points_expiry_months = MONTHS
    program.expiry_warning_days = days
    program.save(update_fields=["points_expiry", "points_expiry_months", "expiry_warning_days"])
    return program


def earn(customer: Customer, points: int, *, at: datetime) -> None:
    """An earn at `at` (the clock moved there), through the till's service."""
    with time_machine.travel(at, tick=False):
        customer_earn(
            customer=customer, amount=Decimal(points), card_type="point", external_id=uuid.uuid4().hex
        )


def earn_expiring(customer: Customer, points: int, *, expires_at: datetime) -> None:
    """An earn whose lot expires at `expires_at` under a fixed lifetime of MONTHS."""
    earn(customer, points, at=add_months(expires_at, -MONTHS))


def run_at(moment: datetime) -> warnings.WarningRun:
    with time_machine.travel(moment, tick=False):
        return warnings.points_expiry_warn()


def warned(customer: Customer) -> list[tuple[int, datetime | None]]:
    lots = PointLot.objects.filter(card__customer=customer).order_by("expires_at", "pk")
    return list(lots.values_list("remaining", "warned_at"))


def to(outbox, customer: Customer) -> list:
    return [message for message in outbox if message.to == [customer.email]]


@pytest.fixture
def point_program(organization, programs):
    with tenant_context(organization):
        return expiring(programs["point"])


def test_a_card_with_lots_in_the_window_gets_one_email_listing_them(
    organization, point_program, mailoutbox, in_organization
):
    organization.timezone = "Europe/Vilnius"  # UTC+3 in June
    organization.brand_color = "#aa3300"
    organization.save(update_fields=["timezone", "brand_color"])
    anna = create_customer(organization, email="anna@example.com")
    Customer.objects.filter(pk=anna.pk).update(name="Anna")
    first = NOW + timedelta(days=2, hours=11, minutes=30)  # 4 June 00:30 in Vilnius
    earn_expiring(anna, 1200, expires_at=first)
    earn_expiring(anna, 50, expires_at=first + timedelta(hours=2))  # the same day there
    earn_expiring(anna, 30, expires_at=NOW + timedelta(days=5))
    earn_expiring(anna, 999, expires_at=NOW + timedelta(days=DAYS, seconds=1))  # not yet

    run = run_at(NOW)

    assert run.summary() == {"cards": 1, "emails": 1, "not_emailed": 0, "failed": 0}
    (message,) = mailoutbox
    assert message.to == ["anna@example.com"]
    assert message.subject == "1,280 points at Test Org A expire on 4 June 2026"
    profile_url = "http://test-a.localhost:8000/me/"
    assert message.body == (
        "Hello Anna,\n"
        "\n"
        "1,280 points at Test Org A expire soon. Use them before then:\n"
        "\n"
        "  4 June 2026: 1,250 points\n"
        "  6 June 2026: 30 points\n"
        "\n"
        "Your balance: 2,279 points.\n"
        "\n"
        "--\n"
        "This is a notice about your points at Test Org A, not advertising.\n"
        f"Turn these emails off in your profile: {profile_url}\n"
    )
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert "background: #aa3300" in html
    assert "<strong>1,280 points</strong> at Test Org A expire soon." in html
    assert '<th scope="row" style="text-align: left; padding: 0.2em 1em 0.2em 0;">4 June 2026</th>' in html
    assert f'<a href="{profile_url}">Turn these emails off in your profile</a>' in html
    assert warned(anna) == [(1200, NOW), (50, NOW), (30, NOW), (999, None)]


def test_a_single_point_the_lots_beyond_five_days_and_an_inactivity_rule_read_right(
    organization, programs, mailoutbox, in_organization
):
    expiring(programs["point"], rule=Program.PointsExpiry.INACTIVITY, days=30)
    one = create_customer(organization)
    earn(one, 1, at=add_months(NOW + timedelta(days=10), -MONTHS))
    run_at(NOW)
    (message,) = mailoutbox
    assert message.subject == "1 point at Test Org A expires on 11 June 2026"
    assert "Hello,\n\n1 point at Test Org A expires soon. Use it before then:\n" in message.body
    assert "Any purchase or redemption keeps your points for another 12 months.\n" in message.body

    expiring(programs["point"], days=30)
    many = create_customer(organization)
    for day in range(1, 8):
        earn_expiring(many, day, expires_at=NOW + timedelta(days=20 + day))
    run_at(NOW)
    message = to(mailoutbox, many)[0]
    assert "  26 June 2026: 5 points\n  Later: 13 points\n\nYour balance: 28 points.\n" in message.body
    assert "Any purchase" not in message.body


def test_nothing_is_warned_before_the_window_opens(organization, point_program, mailoutbox, in_organization):
    customer = create_customer(organization)
    expires_at = NOW + timedelta(days=20)
    earn_expiring(customer, 40, expires_at=expires_at)
    opens = expires_at - timedelta(days=DAYS)

    assert run_at(NOW).summary() == {"cards": 0, "emails": 0, "not_emailed": 0, "failed": 0}
    assert run_at(opens - timedelta(seconds=1)).cards == 0
    assert mailoutbox == []
    assert warned(customer) == [(40, None)]

    assert run_at(opens).emails == 1
    assert warned(customer) == [(40, opens)]
    assert len(to(mailoutbox, customer)) == 1


def test_each_lot_is_warned_once_and_a_lot_that_comes_close_later_gets_its_own_email(
    organization, point_program, mailoutbox, in_organization
):
    customer = create_customer(organization)
    earn_expiring(customer, 100, expires_at=NOW + timedelta(days=3))
    earn_expiring(customer, 20, expires_at=NOW + timedelta(days=10))

    assert run_at(NOW).emails == 1
    for hours in (1, 2, 24):
        assert run_at(NOW + timedelta(hours=hours)).summary()["cards"] == 0
    assert len(mailoutbox) == 1

    later = NOW + timedelta(days=3, hours=1)  # the first lot has expired (or is due), the second is close
    assert run_at(later).emails == 1
    first, second = mailoutbox
    assert "100 points" in first.subject
    assert second.subject == "20 points at Test Org A expire on 11 June 2026"
    assert "  11 June 2026: 20 points\n\n" in second.body
    assert warned(customer) == [(100, NOW), (20, later)]
    assert run_at(later + timedelta(hours=1)).cards == 0


def test_inactivity_lots_are_warned_again_when_a_visit_moved_their_date(
    organization, programs, mailoutbox, in_organization
):
    expiring(programs["point"], rule=Program.PointsExpiry.INACTIVITY)
    customer = create_customer(organization)
    earn(customer, 60, at=add_months(NOW + timedelta(days=2), -MONTHS))
    assert run_at(NOW).emails == 1
    # The customer comes back: every open lot now expires MONTHS after this visit.
    visit = NOW + timedelta(days=1)
    earn(customer, 5, at=visit)
    new_date = add_months(visit, MONTHS)
    assert run_at(NOW + timedelta(days=3)).cards == 0

    again = new_date - timedelta(days=DAYS)
    assert run_at(again).emails == 1
    second = mailoutbox[1]
    assert second.subject == "65 points at Test Org A expire on 2 June 2027"
    assert warned(customer) == [(60, again), (5, again)]


def test_customers_who_turned_warnings_off_get_no_email_and_their_lots_stay_handled(
    organization, point_program, mailoutbox, in_organization
):
    quiet = create_customer(organization)
    Customer.objects.filter(pk=quiet.pk).update(points_expiry_warnings=False)
    told = create_customer(organization)
    for customer in (quiet, told):
        earn_expiring(customer, 70, expires_at=NOW + timedelta(days=4))

    assert run_at(NOW).summary() == {"cards": 2, "emails": 1, "not_emailed": 1, "failed": 0}
    assert [message.to for message in mailoutbox] == [[told.email]]
    assert warned(quiet) == [(70, NOW)]

    # Turned on again: no flood of the warnings they chose not to get; new lots are warned.
    Customer.objects.filter(pk=quiet.pk).update(points_expiry_warnings=True)
    assert run_at(NOW + timedelta(hours=1)).cards == 0
    earn_expiring(quiet, 8, expires_at=NOW + timedelta(days=6))
    assert run_at(NOW + timedelta(hours=2)).emails == 1
    assert "8 points at Test Org A" in to(mailoutbox, quiet)[0].subject


def test_blocked_customers_wait_and_erased_or_addressless_ones_are_handled_without_email(
    organization, point_program, mailoutbox, in_organization
):
    blocked = create_customer(organization)
    blocked_card = create_customer(organization)
    erased = create_customer(organization)
    no_address = create_customer(organization)
    for customer in (blocked, blocked_card, erased, no_address):
        earn_expiring(customer, 25, expires_at=NOW + timedelta(days=4))
    Customer.objects.filter(pk=blocked.pk).update(status=Customer.Status.BLOCKED)
    Card.objects.filter(customer=blocked_card).update(status=Card.Status.BLOCKED)
    Customer.objects.filter(pk=erased.pk).update(
        status=Customer.Status.DELETED, email=f"deleted-{erased.pk}@deleted.invalid"
    )
    # A member by phone only (customers need an email or a phone).
    Customer.objects.filter(pk=no_address.pk).update(email="", phone="+37060000001")

    assert run_at(NOW).summary() == {"cards": 2, "emails": 0, "not_emailed": 2, "failed": 0}
    assert mailoutbox == []
    assert [warned(customer) for customer in (blocked, blocked_card, erased, no_address)] == [
        [(25, None)],
        [(25, None)],
        [(25, NOW)],
        [(25, NOW)],
    ]

    # Unblocked before the date: warned then.
    Customer.objects.filter(pk=blocked.pk).update(status=Customer.Status.ACTIVE)
    Card.objects.filter(customer=blocked_card).update(status=Card.Status.ACTIVE)
    later = NOW + timedelta(days=1)
    assert run_at(later).emails == 2
    assert sorted(message.to[0] for message in mailoutbox) == sorted([blocked.email, blocked_card.email])


def test_a_program_without_warnings_or_whose_lots_wait_for_new_dates_sends_nothing(
    organization, point_program, mailoutbox, in_organization
):
    customer = create_customer(organization)
    earn_expiring(customer, 12, expires_at=NOW + timedelta(days=2))
    point_program.expiry_warning_days = 0
    point_program.save(update_fields=["expiry_warning_days"])
    assert run_at(NOW).cards == 0
    # The rule changed and the expiry job has not dated the lots by it yet.
    expiring(point_program)
    Program.objects.filter(pk=point_program.pk).update(points_expiry_since=NOW - timedelta(hours=1))
    assert run_at(NOW).cards == 0
    assert mailoutbox == []
    assert warned(customer) == [(12, None)]
    Program.objects.filter(pk=point_program.pk).update(lots_redated_for=NOW - timedelta(hours=1))
    assert run_at(NOW).emails == 1


def test_another_organizations_lots_are_untouched(
    organization, other_organization, point_program, mailoutbox
):
    with tenant_context(other_organization):
        expiring(create_programs(other_organization)["point"])
    theirs = create_customer(other_organization)
    ours = create_customer(organization)
    with tenant_context(other_organization):
        earn_expiring(theirs, 90, expires_at=NOW + timedelta(days=3))
    with tenant_context(organization):
        earn_expiring(ours, 90, expires_at=NOW + timedelta(days=3))
        assert run_at(NOW).summary() == {"cards": 1, "emails": 1, "not_emailed": 0, "failed": 0}
    with tenant_context(other_organization):
        assert warned(theirs) == [(90, None)]
    assert [message.to for message in mailoutbox] == [[ours.email]]

    with tenant_context(other_organization):
        assert run_at(NOW).emails == 1
        assert warned(theirs) == [(90, NOW)]
    assert mailoutbox[1].to == [theirs.email]
    assert "Test Org B" in mailoutbox[1].subject and "http://test-b.localhost:8000/me/" in mailoutbox[1].body
    with tenant_context(organization):
        assert warned(ours) == [(90, NOW)]


def test_the_minute_budget_is_shared_with_campaign_emails(
    organization, point_program, mailoutbox, in_organization, settings
):
    settings.CAMPAIGN_MESSAGES_PER_MINUTE = 3
    customers = [create_customer(organization) for _ in range(3)]
    for customer in customers:
        earn_expiring(customer, 10, expires_at=NOW + timedelta(days=1))

    with time_machine.travel(NOW, tick=False):
        assert rate_reserve(1).granted == 1  # a campaign email went out this minute
        run = warnings.points_expiry_warn()
    assert run.summary() == {
        "cards": 2,
        "emails": 2,
        "not_emailed": 0,
        "failed": 0,
        "stopped": "rate_limited",
    }
    assert run.retry_in == 61  # at NOW, the minute's first second
    assert [message.to for message in mailoutbox] == [[customers[0].email], [customers[1].email]]
    assert warned(customers[2]) == [(10, None)]

    assert run_at(NOW + timedelta(minutes=1)).summary() == {
        "cards": 1,
        "emails": 1,
        "not_emailed": 0,
        "failed": 0,
    }
    assert mailoutbox[2].to == [customers[2].email]


def test_the_job_goes_on_in_the_next_minute_when_the_budget_ran_out(
    organization, point_program, mailoutbox, in_organization, settings
):
    settings.CAMPAIGN_MESSAGES_PER_MINUTE = 1
    for _ in range(2):
        earn_expiring(create_customer(organization), 10, expires_at=NOW + timedelta(days=1))
    published = []

    def record(sender=None, headers=None, **kwargs) -> None:
        if sender == warn_points_expiry.name:
            published.append((headers["eta"], headers["_schema_name"]))

    after_task_publish.connect(record, weak=False)
    try:
        with time_machine.travel(NOW, tick=False):
            summary = warn_points_expiry()
    finally:
        after_task_publish.disconnect(record)
        app.control.purge()  # nobody runs it here
    assert summary == {"cards": 1, "emails": 1, "not_emailed": 0, "failed": 0, "stopped": "rate_limited"}
    assert len(mailoutbox) == 1
    assert published == [((NOW + timedelta(seconds=61)).isoformat(), organization.schema_name)]


class RefusingSmtpServer:
    """A real SMTP server on a local port: refuses recipients whose address starts with
    `refused` (550, for good) or `later` (451, for now), takes every other message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.accepted: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                self._session(conn, lines)

    def _session(self, conn, lines) -> None:
        conn.sendall(b"220 test ESMTP\r\n")
        recipient = ""
        for raw in lines:
            command = raw.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                conn.sendall(b"250 test\r\n")
            elif verb == "RCPT":
                recipient = command.split(":", 1)[1].strip("<> ")
                if recipient.startswith("refused"):
                    conn.sendall(b"550 no such user\r\n")
                elif recipient.startswith("later"):
                    conn.sendall(b"451 try again later\r\n")
                else:
                    conn.sendall(b"250 ok\r\n")
            elif verb == "DATA":
                conn.sendall(b"354 go on\r\n")
                for data in lines:
                    if data == b".\r\n":
                        break
                self.accepted.append(recipient)
                conn.sendall(b"250 queued\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:  # MAIL, RSET, NOOP
                conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self._listener.close()


@contextmanager
def smtp_server(settings):
    server = RefusingSmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield server
    finally:
        server.close()


def test_an_email_the_server_did_not_take_is_tried_again_unless_the_address_was_refused(
    organization, point_program, in_organization, settings
):
    fine = create_customer(organization, email=f"fine-{uuid.uuid4().hex[:6]}@example.com")
    later = create_customer(organization, email=f"later-{uuid.uuid4().hex[:6]}@example.com")
    refused = create_customer(organization, email=f"refused-{uuid.uuid4().hex[:6]}@example.com")
    for customer in (fine, later, refused):
        earn_expiring(customer, 15, expires_at=NOW + timedelta(days=2))

    with smtp_server(settings) as server:
        first = run_at(NOW)
        assert first.summary() == {"cards": 3, "emails": 1, "not_emailed": 0, "failed": 2}
        assert first.released == 1
        assert server.accepted == [fine.email]
        assert [warned(customer) for customer in (fine, later, refused)] == [
            [(15, NOW)],
            [(15, None)],
            [(15, NOW)],
        ]

        # The next run tries the one the server could not take now, and only that one.
        server_later = NOW + timedelta(hours=1)
        Customer.objects.filter(pk=later.pk).update(email=later.email.replace("later-", "back-"))
        assert run_at(server_later).summary() == {"cards": 1, "emails": 1, "not_emailed": 0, "failed": 0}
        assert server.accepted == [fine.email, later.email.replace("later-", "back-")]

    # Nobody listens at all: the claim goes back too.
    stranded = create_customer(organization)
    earn_expiring(stranded, 5, expires_at=NOW + timedelta(days=2))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    run = run_at(NOW + timedelta(hours=2))
    assert (run.failed, run.released, run.first_error) == (1, 1, "ConnectionRefusedError")
    assert warned(stranded) == [(5, None)]


def test_a_claim_that_committed_before_its_worker_died_is_not_sent_again(
    organization, point_program, mailoutbox, in_organization
):
    """At most once: the lots a dead worker claimed count as warned (decision 0048)."""
    lost, kept = create_customer(organization), create_customer(organization)
    for customer in (lost, kept):
        earn_expiring(customer, 33, expires_at=NOW + timedelta(days=2))
    lost_card = Card.objects.get(customer=lost, program=point_program)
    (batch,) = warnings.warnings_claim(point_program, [lost_card.pk], now=NOW)
    assert (batch.customer_id, batch.points, batch.balance) == (lost.pk, 33, 33)

    assert run_at(NOW + timedelta(minutes=5)).summary() == {
        "cards": 1,
        "emails": 1,
        "not_emailed": 0,
        "failed": 0,
    }
    assert [message.to for message in mailoutbox] == [[kept.email]]
    assert warned(lost) == [(33, NOW)]


# Real workers (not eager mode), on committed data; the worker runs at the real time.


def _customers(organization, count: int, tag: str) -> list[Customer]:
    """Customers whose 10 points expire in two days, each with one lot."""
    expires_at = datetime.now(UTC) + timedelta(days=2)
    customers = []
    with tenant_context(organization):
        program = expiring(Program.objects.get(kind="point"))
        for n in range(count):
            customer = create_customer(organization, email=f"{tag}-{n}-{uuid.uuid4().hex[:6]}@example.com")
            earn_expiring(customer, 10, expires_at=expires_at)
            customers.append(customer)
        assert program.expiry_warning_days == DAYS
    return customers


def _addressees(mail_dir: Path) -> list[str]:
    return sorted(message["To"] for message in emails_in(mail_dir))


def _queue_length() -> int:
    with app.connection_for_read() as conn:
        return conn.default_channel.queue_declare(queue=app.conf.task_default_queue).message_count


def _wait_until_idle(mail_dir: Path, expected: int, workers: tuple[str, ...], seconds: float = 120) -> None:
    """Until the expected emails are written, the queue is empty and every one of `workers`
    answers that it has no task running or reserved (a solo worker busy with a task does not
    answer at all)."""
    prefixes = tuple(f"{name}-{os.getpid()}@" for name in workers)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(emails_in(mail_dir)) >= expected and _queue_length() == 0:
            inspect = app.control.inspect(timeout=1)
            ours = [
                {node: tasks for node, tasks in (reply or {}).items() if node.startswith(prefixes)}
                for reply in (inspect.active(), inspect.reserved())
            ]
            if all(len(reply) == len(workers) and not any(reply.values()) for reply in ours):
                return
        time.sleep(0.2)
    raise AssertionError(f"the workers did not finish within {seconds} s")


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


def test_a_real_worker_runs_the_scheduled_job(committed_db, mail_dir):
    assert app.conf.beat_schedule["warn-points-expiry"]["args"] == [warn_points_expiry.name]
    organization, _ = committed_organization("warn-worker", "Warning Worker Café")
    customers = _customers(organization, 3, "solo")
    with celery_worker("warn-solo", TEST_EMAIL_FILE_PATH=str(mail_dir)):
        with tenant_context(organization):
            warn_points_expiry.delay()
        _wait_until_idle(mail_dir, 3, ("warn-solo",))
    assert _addressees(mail_dir) == sorted(customer.email for customer in customers)
    (message,) = emails_to(mail_dir, customers[0].email)
    # (a subject that is not ASCII is folded onto a line of its own in the file)
    assert message["Subject"].strip().startswith("10 points at Warning Worker Café expire on ")
    status = JobStatus.objects.get(job=warn_points_expiry.name, organization_id=organization.pk)
    assert status.last_summary == {"cards": 3, "emails": 3, "not_emailed": 0, "failed": 0}
    with tenant_context(organization):
        assert not PointLot.objects.filter(card__customer__in=customers, warned_at__isnull=True).exists()


def test_two_workers_running_the_job_at_once_send_each_warning_once(committed_db, mail_dir):
    organization, _ = committed_organization("warn-two-workers", "Two Workers Café")
    customers = _customers(organization, 250, "two")  # three chunks
    with ExitStack() as stack:
        stack.enter_context(celery_worker("warn-one", TEST_EMAIL_FILE_PATH=str(mail_dir)))
        stack.enter_context(celery_worker("warn-two", TEST_EMAIL_FILE_PATH=str(mail_dir)))
        with tenant_context(organization):
            for _ in range(4):
                warn_points_expiry.delay()
        _wait_until_idle(mail_dir, len(customers), ("warn-one", "warn-two"))
    assert _addressees(mail_dir) == sorted(customer.email for customer in customers)
    with tenant_context(organization):
        lots = PointLot.objects.filter(card__customer__in=customers)
        assert lots.count() == len(customers) and not lots.filter(warned_at__isnull=True).exists()


def test_a_run_that_stopped_half_way_then_runs_again_sends_each_warning_once(
    committed_db, mail_dir, mailoutbox
):
    organization, _ = committed_organization("warn-half-way", "Half Way Café")
    customers = _customers(organization, 6, "half")
    with tenant_context(organization):
        program = Program.objects.get(kind="point")
        due = warnings.due_cards(program, now=datetime.now(UTC))
        assert len(due) == 6
        # The first run warned the first chunk, then its worker died.
        first_run = warnings.WarningRun()
        assert warnings.warn_cards(program, due[:2], now=datetime.now(UTC), run=first_run)
        assert (first_run.cards, first_run.emails) == (2, 2)
    with celery_worker("warn-again", TEST_EMAIL_FILE_PATH=str(mail_dir)):
        with tenant_context(organization):
            warn_points_expiry.delay()
            warn_points_expiry.delay()  # and beat's next run comes too
        _wait_until_idle(mail_dir, 4, ("warn-again",))
    emailed = sorted([message.to[0] for message in mailoutbox] + _addressees(mail_dir))
    assert emailed == sorted(customer.email for customer in customers)
    assert sorted(message.to[0] for message in mailoutbox) == sorted(
        customer.email for customer in customers[:2]
    )
