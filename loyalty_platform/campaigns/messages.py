"""A campaign's email: claimed once per run, action and customer, then sent.

A message row is inserted (ON CONFLICT DO NOTHING) in the transaction that moves the run's
message cursor, and a sender takes it with a conditional update (queued, no attempt yet)
before sending: a retried task or a second worker never sends a customer the same campaign
message twice. The price is at most once: a worker killed between taking a row and sending
leaves it queued with one attempt, and it is not sent again (docs/decisions/0041-campaign-runner.md).

Only customers with marketing consent and an email get one, checked again when the message
is sent (a customer blocked, erased or unsubscribed since the claim is skipped). Every send
counts against the organization's budget (CAMPAIGN_MESSAGES_PER_MINUTE, a Redis counter per
minute whose key carries the schema): a run's batches, trigger messages and left-overs alike."""

import logging
import re
import time
from dataclasses import dataclass
from email.mime.image import MIMEImage

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, linebreaks

from loyalty_platform.campaigns.models import CampaignAction, CampaignGrant, CampaignMessage, CampaignRun
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.mail import email_build
from loyalty_platform.core.qr import qr_png
from loyalty_platform.customers.mail import customer_email_language
from loyalty_platform.customers.models import Customer
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import card_balances

logger = logging.getLogger(__name__)

MESSAGE_BATCH_SIZE = 100
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"
_PLACEHOLDER = re.compile(r"\{(name|points|stamps|voucher_code)\}")
_MESSAGE = CampaignMessage._meta.db_table
_CUSTOMER = Customer._meta.db_table

_CLAIM_SQL = (
    f"INSERT INTO {_MESSAGE} (run_id, action_id, customer_id, email, status, attempts, created_at) "  # noqa: S608
    f"SELECT %s, %s, cu.id, cu.email, 'queued', 0, now() FROM {_CUSTOMER} AS cu "
    "WHERE cu.id = ANY(%s) AND cu.status = 'active' AND cu.consent_marketing_at IS NOT NULL "
    "AND cu.email <> '' ORDER BY cu.id "
    "ON CONFLICT (run_id, action_id, customer_id) DO NOTHING RETURNING id"
)
# Taken only while the customer can still be emailed (blocked, erased or consent withdrawn
# since the claim: skipped instead), to the address they have now.
_TAKE_SQL = (
    f"UPDATE {_MESSAGE} AS m SET attempts = m.attempts + 1, email = cu.email FROM {_CUSTOMER} AS cu "  # noqa: S608
    "WHERE m.id = %s AND m.status = 'queued' AND m.attempts = 0 AND cu.id = m.customer_id "
    "AND cu.status = 'active' AND cu.consent_marketing_at IS NOT NULL AND cu.email <> '' RETURNING m.id"
)
_SKIP_SQL = (
    f"UPDATE {_MESSAGE} SET status = 'skipped' "  # noqa: S608
    "WHERE id = %s AND status = 'queued' AND attempts = 0 RETURNING id"
)


def reachable(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """The customers a campaign may email: active, consenting to marketing, with an address."""
    return customers.filter(status=Customer.Status.ACTIVE, consent_marketing_at__isnull=False).exclude(
        email=""
    )


def claim(*, run: CampaignRun, action: CampaignAction, customer_ids: list[int]) -> list[int]:
    """Message rows for the consenting customers who have not had this message from this run
    (in the caller's transaction); returns the new rows' ids."""
    if not customer_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [run.pk, action.pk, sorted(set(customer_ids))])
        return [row[0] for row in cursor.fetchall()]


def message_customers(*, run: CampaignRun, action: CampaignAction, customer_ids: list[int]) -> int:
    """For trigger campaigns: claim the message for these customers and send it after commit,
    within the organization's per-minute budget (campaigns.tasks.campaign_messages_send)."""
    from loyalty_platform.campaigns.tasks import campaign_messages_send
    from loyalty_platform.core.faults import task_send_on_commit

    with transaction.atomic():
        claimed = claim(run=run, action=action, customer_ids=customer_ids)
        if claimed:
            task_send_on_commit(campaign_messages_send, (claimed,))
    return len(claimed)


@dataclass(frozen=True)
class Reservation:
    granted: int
    retry_in: int  # seconds until the next minute's budget
    key: str  # the minute's counter: what is not used goes back to it, not to a later one


def _rate_key() -> str:
    return lp_redis.key("campaign-mail", connection.schema_name, int(time.time() // 60))


def rate_reserve(wanted: int) -> Reservation:
    """Take up to `wanted` sends from this minute's budget."""
    limit = settings.CAMPAIGN_MESSAGES_PER_MINUTE
    key = _rate_key()
    pipe = lp_redis.client().pipeline()
    pipe.incrby(key, wanted)
    pipe.expire(key, 120)
    used, _ = pipe.execute()
    over = max(0, used - limit)
    granted = max(0, wanted - over)
    if granted < wanted:
        lp_redis.client().decrby(key, wanted - granted)
    return Reservation(granted=granted, retry_in=61 - int(time.time()) % 60, key=key)


# Give back only to a minute's key that still exists: a DECRBY after it expired would
# recreate it without a lifetime.
_RELEASE_SCRIPT = (
    "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decrby', KEYS[1], ARGV[1]) end return 0"
)


def rate_release(reservation: Reservation, unused: int) -> None:
    if unused > 0:
        lp_redis.client().eval(_RELEASE_SCRIPT, 1, reservation.key, unused)


def unsubscribe_token(*, customer_id: int, campaign_id: int) -> str:
    """Signed, carrying the schema: a link of one organization is refused on another's host."""
    return signing.dumps(
        {"s": connection.schema_name, "c": customer_id, "k": campaign_id},
        salt=UNSUBSCRIBE_SALT,
        compress=True,
    )


def unsubscribe_read(token: str) -> dict | None:
    """The token's content when its signature holds and it is this schema's, else None."""
    try:
        content = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(content, dict) or content.get("s") != connection.schema_name:
        return None
    if not isinstance(content.get("c"), int) or not isinstance(content.get("k"), int | None):
        return None
    return content


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _render(message: CampaignMessage) -> EmailMultiAlternatives:
    customer = message.customer
    action = message.action
    organization = connection.tenant
    balances = card_balances(customer.pk)
    voucher = (
        CampaignGrant.objects.filter(run_id=message.run_id, customer_id=customer.pk, voucher__isnull=False)
        .select_related("voucher")
        .order_by("pk")
        .first()
    )
    code = voucher.voucher.code if voucher else ""
    values = {
        "name": customer.name or customer.email,
        "points": str(balances.get(Program.Kind.POINT, 0)),
        "stamps": str(balances.get(Program.Kind.STAMP, 0)),
        "voucher_code": code,
    }
    token = unsubscribe_token(customer_id=customer.pk, campaign_id=message.run.campaign_id)
    unsubscribe_url = organization_base_url() + reverse("campaign-unsubscribe", args=[token])
    text_body = _fill(action.body, values)
    html_body = linebreaks(
        _fill(escape(action.body), {name: escape(value) for name, value in values.items()})
    )
    # The merchant's subject and body stay as written; the chrome around them (voucher line,
    # why they get it, unsubscribe) is in the customer's language.
    email = email_build(
        language=customer_email_language(customer),
        template="campaigns/email/message",
        subject=_fill(action.subject, values),
        context={
            "text_body": text_body,
            "html_body": html_body,
            "voucher_code": code,
            "unsubscribe_url": unsubscribe_url,
        },
        to=[message.email],
        organization=organization,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    if code:
        qr = MIMEImage(qr_png(code), "png")
        qr.add_header("Content-ID", "<voucher-qr>")
        qr.add_header("Content-Disposition", "inline", filename="voucher-qr.png")
        email.mixed_subtype = "related"
        email.attach(qr)
    return email


def _take(message_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [message_id])
        if cursor.fetchone() is not None:
            return True
        cursor.execute(_SKIP_SQL, [message_id])
        if cursor.fetchone() is not None:
            logger.info("campaign message %s skipped: the customer can no longer be emailed", message_id)
        return False


def send_claimed(message_ids: list[int]) -> int:
    """Send the claimed messages that nobody took yet (their budget reserved by the caller);
    returns how many were tried (sent or failed)."""
    tried = 0
    for message_id in message_ids:
        if not _take(message_id):
            continue  # another worker or an earlier try has it, or the customer left
        message = (
            CampaignMessage.objects.select_related("customer", "action", "run").filter(pk=message_id).first()
        )
        tried += 1
        try:
            _render(message).send()
        except OSError as error:  # SMTP refused or unreachable: recorded, not retried
            logger.warning("campaign message %s not sent: %s", message_id, error)
            CampaignMessage.objects.filter(pk=message_id).update(status=CampaignMessage.Status.FAILED)
            continue
        CampaignMessage.objects.filter(pk=message_id).update(
            status=CampaignMessage.Status.SENT, sent_at=timezone.now()
        )
    return tried


@dataclass(frozen=True)
class Sending:
    tried: int
    left: list[int]  # not sent yet: the budget of this minute is used up
    retry_in: int | None = None


def send_within_budget(message_ids: list[int]) -> Sending:
    """Send as many of the claimed messages as this minute's budget allows; the rest are
    returned with the seconds until the next minute."""
    if not message_ids:
        return Sending(tried=0, left=[])
    reservation = rate_reserve(len(message_ids))
    now, later = message_ids[: reservation.granted], message_ids[reservation.granted :]
    tried = send_claimed(now)
    rate_release(reservation, len(now) - tried)
    return Sending(tried=tried, left=later, retry_in=reservation.retry_in if later else None)


def send_left_over(run_id: int) -> Sending:
    """Messages a run claimed whose sender died before taking them (committed claims, no
    attempt): sent now within the budget, still at most once."""
    left = list(
        CampaignMessage.objects.filter(
            run_id=run_id, status=CampaignMessage.Status.QUEUED, attempts=0
        ).values_list("pk", flat=True)[:MESSAGE_BATCH_SIZE]
    )
    return send_within_budget(left)
