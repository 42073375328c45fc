"""Campaign emails: only consenting customers, the placeholders escaped, the voucher's QR,
no duplicates on a retry, the per-minute rate; the unsubscribe link."""

from datetime import timedelta

import time_machine
from celery.signals import after_task_publish
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.campaigns import messages, runner, tasks
from loyalty_platform.campaigns.campaign_admin import campaign_report
from loyalty_platform.campaigns.messages import unsubscribe_token
from loyalty_platform.campaigns.models import CampaignMessage, CampaignRun, CampaignUnsubscribe
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_erase
from loyalty_platform.vouchers.models import Promotion
from tests.campaigns.runner_fixtures import make_action, make_campaign, make_run
from tests.pos_fixtures import create_customer


def _consenting(organization, count, **fields):
    found = []
    for _ in range(count):
        customer = create_customer(organization, points=12)
        with tenant_context(organization):
            Customer.objects.filter(pk=customer.pk).update(consent_marketing_at=timezone.now(), **fields)
        found.append(customer)
    return found


def _message_campaign(**action_fields):
    campaign = make_campaign(status="running")
    defaults = {"subject": "Hello {name}", "body": "Dear {name}, you have {points} points."}
    make_action(campaign, "message", **(defaults | action_fields))
    return campaign


def test_only_consenting_customers_get_the_email_once_even_when_the_run_is_worked_again(
    organization, programs
):
    consenting = _consenting(organization, 3)
    create_customer(organization)  # no consent
    with tenant_context(organization):
        campaign = _message_campaign()
        (run_id,) = runner.tick()
        assert runner.run_work(run_id).state == "done"
        assert sorted(message.to[0] for message in mail.outbox) == sorted(c.email for c in consenting)
        # A retry from scratch: cursor back at 0, the run still granting.
        CampaignRun.objects.filter(pk=run_id).update(message_cursor=0, status="granting")
        assert runner.run_work(run_id).state == "done"
        assert len(mail.outbox) == 3
        assert CampaignMessage.objects.filter(run_id=run_id, status="sent").count() == 3
        assert set(CampaignMessage.objects.values_list("attempts", flat=True)) == {1}
        assert campaign.status == "running"


def test_a_claimed_message_taken_by_another_sender_is_not_sent_again(organization, programs):
    _consenting(organization, 2)
    with tenant_context(organization):
        _message_campaign()
        (run_id,) = runner.tick()
        batch = runner.message_batch(run_id)
        assert len(batch.claimed) == 2
        assert messages.send_claimed(batch.claimed) == 2
        assert messages.send_claimed(batch.claimed) == 0  # a duplicated task
        assert messages.send_left_over(run_id).tried == 0
        assert len(mail.outbox) == 2


def test_placeholders_are_filled_and_escaped_with_the_voucher_qr_and_unsubscribe_headers(
    organization, programs
):
    (customer,) = _consenting(organization, 1, name="<b>Ann & Co</b>")
    with tenant_context(organization):
        promotion = Promotion.objects.create(title="Cookie")
        campaign = _message_campaign(
            subject="Hi {name}", body="Hi {name}\nCode {voucher_code}, {stamps} stamps"
        )
        make_action(campaign, "grant_voucher", promotion=promotion)
        (run_id,) = runner.tick()
        runner.run_work(run_id)
        (email,) = mail.outbox
        code = customer.vouchers.get().code
        assert email.subject == "Hi <b>Ann & Co</b>"
        assert email.body.startswith(f"Hi <b>Ann & Co</b>\nCode {code}, 0 stamps")
        html = email.alternatives[0][0]
        assert "&lt;b&gt;Ann &amp; Co&lt;/b&gt;" in html and "<b>Ann" not in html
        assert f"Code {code}" in html and 'src="cid:voucher-qr"' in html
        (qr,) = [part for part in email.attachments if part.get_content_type() == "image/png"]
        assert qr["Content-ID"] == "<voucher-qr>"
        unsubscribe = email.extra_headers["List-Unsubscribe"]
        assert unsubscribe.startswith("<http") and "/unsubscribe/" in unsubscribe
        assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe[1:-1] in email.body and unsubscribe[1:-1] in html


@override_settings(CAMPAIGN_MESSAGES_PER_MINUTE=3)
def test_the_rate_limit_holds_the_rest_for_the_next_minute(organization, programs):
    _consenting(organization, 5)
    with tenant_context(organization):
        _message_campaign()
        (run_id,) = runner.tick()
        outcome = runner.run_work(run_id)
        assert outcome.state == "later" and 1 <= outcome.again_in <= 61
        assert len(mail.outbox) == 3
        assert runner.run_work(run_id).state == "later"  # the same minute: nothing more
        assert len(mail.outbox) == 3
        assert CampaignMessage.objects.filter(run_id=run_id).count() == 3
        assert CampaignRun.objects.get(pk=run_id).status == "granting"


def test_unsubscribe_link_asks_then_withdraws_consent_once(organization, programs, client_a):
    (customer,) = _consenting(organization, 1)
    with tenant_context(organization):
        campaign = _message_campaign()
        token = unsubscribe_token(customer_id=customer.pk, campaign_id=campaign.pk)
    url = f"/unsubscribe/{token}/"
    page = client_a.get(url)
    assert page.status_code == 200 and b'<form method="post"' in page.content
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).consent_marketing_at is not None
    for _ in range(2):
        done = client_a.post(url)
        assert done.status_code == 200
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).consent_marketing_at is None
        assert CampaignUnsubscribe.objects.filter(customer=customer, campaign=campaign).count() == 1
        assert (
            AuditLogEntry.objects.filter(action="customer.unsubscribe", target_id=str(customer.pk)).count()
            == 1
        )


def test_a_tampered_or_foreign_unsubscribe_link_is_refused_and_changes_nothing(
    organization, other_organization, programs, client_a, client_b
):
    (customer,) = _consenting(organization, 1)
    with tenant_context(organization):
        token = unsubscribe_token(customer_id=customer.pk, campaign_id=None)
    for client, path in (
        (client_a, f"/unsubscribe/{token[:-2]}xy/"),
        (client_a, "/unsubscribe/nonsense/"),
        (client_b, f"/unsubscribe/{token}/"),
    ):
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 400
            assert b'data-error="unsubscribe_link_invalid"' in response.content
    with tenant_context(organization):
        assert Customer.objects.get(pk=customer.pk).consent_marketing_at is not None
        assert CampaignUnsubscribe.objects.count() == 0


@override_settings(CAMPAIGN_MESSAGES_PER_MINUTE=2)
def test_trigger_messages_count_against_the_budget_and_the_rest_go_in_the_next_minute(organization, programs):
    """Trigger messages used to go out whatever the minute's budget said."""
    consenting = _consenting(organization, 3)
    published = []

    def record(sender=None, body=None, headers=None, **kwargs) -> None:
        published.append((sender, body[0], headers.get("eta") is not None))

    with tenant_context(organization):
        campaign = make_campaign(status="running", trigger="welcome")
        action = make_action(campaign, "message", subject="Welcome", body="Hello {name}")
        run = make_run(campaign, key="welcome")
        ids = messages.claim(run=run, action=action, customer_ids=[c.pk for c in consenting])
        after_task_publish.connect(record, weak=False)
        try:
            assert tasks.campaign_messages_send.run(ids) == 2
        finally:
            after_task_publish.disconnect(record)
        assert len(mail.outbox) == 2
        assert published == [("loyalty_platform.campaigns.tasks.campaign_messages_send", (ids[2:],), True)]
        assert CampaignMessage.objects.filter(run=run, status="queued", attempts=0).count() == 1
        # The left-overs of a run wait for the budget too.
        assert messages.send_left_over(run.pk).retry_in is not None
        assert len(mail.outbox) == 2


def test_a_customer_who_left_since_the_claim_is_skipped_and_an_erased_ones_address_goes(
    organization, programs
):
    """The send re-checks the customer: consent withdrawn or erased since the claim, no email;
    a changed address gets it at the new one."""
    withdrawn, erased, moved = _consenting(organization, 3)
    with tenant_context(organization):
        campaign = _message_campaign()
        (run_id,) = runner.tick()
        batch = runner.message_batch(run_id)
        assert len(batch.claimed) == 3
        Customer.objects.filter(pk=withdrawn.pk).update(consent_marketing_at=None)
        customer_erase(customer=Customer.objects.get(pk=erased.pk))
        Customer.objects.filter(pk=moved.pk).update(email="moved@example.com")
        assert messages.send_claimed(batch.claimed) == 1
        assert [email.to for email in mail.outbox] == [["moved@example.com"]]
        statuses = dict(CampaignMessage.objects.filter(run_id=run_id).values_list("customer_id", "status"))
        assert statuses == {withdrawn.pk: "skipped", erased.pk: "skipped", moved.pk: "sent"}
        assert CampaignMessage.objects.get(customer_id=erased.pk).email == ""
        assert campaign_report(campaign)["messages"] == {"sent": 1, "failed": 0, "queued": 0, "skipped": 2}


def test_budget_given_back_after_its_minutes_key_expired_leaves_no_key_behind(organization, programs):
    with tenant_context(organization):
        reservation = messages.rate_reserve(5)
        client = lp_redis.client()
        client.delete(reservation.key)  # its 120 s are over
        messages.rate_release(reservation, 5)
        assert client.exists(reservation.key) == 0


def test_budget_left_unused_goes_back_to_the_minute_it_was_taken_from(organization, programs):
    with tenant_context(organization):
        started = timezone.now().replace(second=50)
        with time_machine.travel(started, tick=False):
            reservation = messages.rate_reserve(5)
            taken_key = reservation.key
        with time_machine.travel(started + timedelta(seconds=20), tick=False):
            messages.rate_release(reservation, 5)
            next_key = messages.rate_reserve(0).key
        client = lp_redis.client()
        assert taken_key != next_key
        assert (int(client.get(taken_key)), int(client.get(next_key) or 0)) == (0, 0)
