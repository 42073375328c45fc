import base64
import hashlib
import hmac
import json
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from loyalty_platform.core import errors
from loyalty_platform.core import redis as lp_redis
from loyalty_platform.core.errors import DomainError
from loyalty_platform.customers.models import Customer
from loyalty_platform.realtime.publish import publish_to_customer_on_commit
from loyalty_platform.verification.models import PinChallenge
from tenants.models import Organization

Preset = Organization.VerificationPreset
Action = PinChallenge.Action

# What the profile's PIN box says the cashier asks for, when the call gives nothing more exact.
ACTION_PROMPTS = {
    Action.EARN: _("Collect points or stamps"),
    Action.REDEEM: _("Redeem points or stamps"),
    Action.COUPON_REDEEM: _("Use a coupon"),
    Action.ADJUST: _("A correction of your balance"),
    Action.PREPAID_PAY: _("Pay with your credit"),
    Action.REVERSE: _("Undo a purchase's points or stamps"),
}

# Which actions ask for the customer's PIN under each preset (the contract's table).
PIN_REQUIRED = {
    Preset.STANDARD: frozenset(),
    Preset.BALANCED: frozenset({Action.REDEEM, Action.COUPON_REDEEM, Action.ADJUST, Action.PREPAID_PAY}),
    Preset.STRICT: frozenset(
        {Action.EARN, Action.REDEEM, Action.COUPON_REDEEM, Action.ADJUST, Action.PREPAID_PAY, Action.REVERSE}
    ),
}


def pin_required_for(*, organization: Organization, action: str) -> bool:
    return action in PIN_REQUIRED[organization.verification_preset]


def manual_code_check(*, organization: Organization, manual_code: bool) -> None:
    if manual_code and organization.verification_preset == Preset.STRICT:
        raise errors.MANUAL_CODE_DISABLED()


# ---------------------------------------------------------------------------------------
# PIN challenges
# ---------------------------------------------------------------------------------------


def _pin_hash(challenge_id: uuid.UUID, pin: str) -> str:
    return salted_hmac("verification.pin", f"{challenge_id}:{pin}", algorithm="sha256").hexdigest()


def _pin_key(challenge_id: uuid.UUID) -> str:
    return lp_redis.key("pin", connection.schema_name, challenge_id)


def _lock_key(customer: Customer) -> str:
    return lp_redis.key("pinlock", connection.schema_name, customer.pk)


def _counter_key(customer: Customer, what: str) -> str:
    return lp_redis.key("pincount", connection.schema_name, customer.pk, what)


def pin_lock_check(*, customer: Customer) -> None:
    ttl_ms = lp_redis.client().pttl(_lock_key(customer))
    if ttl_ms > 0:
        raise errors.PIN_LOCKED(retry_after=math.ceil(ttl_ms / 1000))


def _count_towards_lock(customer: Customer, what: str, limit: int) -> bool:
    """Count a challenge or a wrong PIN; lock the customer when the window's limit is passed."""
    count, _ = lp_redis.window_incr(_counter_key(customer, what), settings.PIN_LOCK_WINDOW_SECONDS)
    if count > limit:
        lp_redis.client().set(_lock_key(customer), "1", ex=settings.PIN_LOCK_SECONDS)
        return True
    return False


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: PinChallenge
    pin: str


def pin_challenge_issue(
    *,
    organization: Organization,
    customer: Customer,
    action: str,
    api_key_lookup_id: str = "",
    summary: str = "",
    fingerprint: str = "",
) -> IssuedChallenge:
    """Create a challenge with a fresh PIN, replacing the customer's open one for the same
    action; the PIN is pushed to the customer's profile once the transaction commits, with
    `summary` (what the cashier asks for, "Redeem 150 points") or the action's prompt. The
    PIN then passes only calls with the same `fingerprint` (the summary in English)."""
    pin_lock_check(customer=customer)
    if _count_towards_lock(customer, "challenges", settings.PIN_LOCK_MAX_CHALLENGES):
        pin_lock_check(customer=customer)
    pin = "".join(str(secrets.randbelow(10)) for _ in range(organization.pin_length))
    challenge_id = uuid.uuid4()
    expires_at = timezone.now() + timedelta(seconds=settings.PIN_CHALLENGE_SECONDS)
    with transaction.atomic():
        # Tills asking at the same moment: without the customer's row lock, each would
        # replace only the challenges committed before it and the second insert would break
        # the one-open-challenge rule. With it, the last one issued is the open one. NO KEY
        # UPDATE, so it never waits on (or deadlocks with) a PIN-gated action that inserts a
        # row referring to the customer while it holds the challenge this one replaces.
        list(
            Customer.objects.select_for_update(no_key=True)
            .filter(pk=customer.pk)
            .values_list("pk", flat=True)
        )
        PinChallenge.objects.filter(customer=customer, action=action, status=PinChallenge.Status.OPEN).update(
            status=PinChallenge.Status.REPLACED
        )
        challenge = PinChallenge.objects.create(
            id=challenge_id,
            customer=customer,
            action=action,
            pin_hash=_pin_hash(challenge_id, pin),
            pin_length=organization.pin_length,
            remaining_attempts=settings.PIN_MAX_ATTEMPTS,
            expires_at=expires_at,
            api_key_lookup_id=api_key_lookup_id,
            summary_digest=summary_digest(fingerprint),
        )
        shown = {
            "challenge_id": str(challenge_id),
            "pin": pin,
            "action": action,
            "summary": summary or _default_prompt(customer, organization, action),
            "expires_at": expires_at.isoformat(),
        }
        lp_redis.client().set(_pin_key(challenge_id), json.dumps(shown), ex=settings.PIN_CHALLENGE_SECONDS)
        publish_to_customer_on_commit(customer_id=customer.pk, event="pin_issued", data=shown)
    return IssuedChallenge(challenge=challenge, pin=pin)


def _default_prompt(customer: Customer, organization: Organization, action: str) -> str:
    with translation.override(customer.language or organization.language or "en"):
        return str(ACTION_PROMPTS.get(action, ""))


def summary_digest(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()


def _new_challenge_error(**issue_arguments) -> DomainError:
    """Issue a challenge and return the 412 that announces it."""
    issued = pin_challenge_issue(**issue_arguments)
    return errors.PIN_REQUIRED(
        challenge_id=str(issued.challenge.pk),
        remaining_attempts=issued.challenge.remaining_attempts,
        expires_at=issued.challenge.expires_at.isoformat(),
        pin_length=issued.challenge.pin_length,
    )


def pin_gate(
    *,
    organization: Organization,
    customer: Customer,
    action: str,
    pin: str | None,
    challenge_id: str | None = None,
    api_key_lookup_id: str = "",
    summary: str = "",
    fingerprint: str = "",
) -> uuid.UUID | None:
    """Pass the PIN step of a gated call. Returns None when the preset asks no PIN for the
    action, else the id of the verified challenge, which the action spends in its own
    transaction (pin_challenge_spend). Raises DomainError with the contract's codes; a new
    challenge tells the customer `summary`. A challenge issued for another `fingerprint` (the
    same action for another amount) is not this call's: a new one is issued.

    Wrong attempts are committed before the error is raised, so they count even though
    the call fails."""
    if not pin_required_for(organization=organization, action=action):
        return None
    pin_lock_check(customer=customer)
    new_challenge = {
        "organization": organization,
        "customer": customer,
        "action": action,
        "api_key_lookup_id": api_key_lookup_id,
        "summary": summary,
        "fingerprint": fingerprint,
    }
    if pin is None:
        raise _new_challenge_error(**new_challenge)
    error = None
    with transaction.atomic():
        challenge = (
            PinChallenge.objects.select_for_update()
            .filter(customer=customer, action=action, status=PinChallenge.Status.OPEN)
            .first()
        )
        if (
            challenge is None
            or (challenge_id and str(challenge.pk) != str(challenge_id))
            or not constant_time_compare(challenge.summary_digest, summary_digest(fingerprint))
        ):
            challenge = None
        elif challenge.expires_at <= timezone.now():
            error = errors.PIN_EXPIRED(challenge_id=str(challenge.pk))
        elif constant_time_compare(_pin_hash(challenge.pk, pin), challenge.pin_hash):
            return challenge.pk
        else:
            challenge.remaining_attempts -= 1
            if challenge.remaining_attempts <= 0:
                challenge.status = PinChallenge.Status.FAILED
                error = errors.PIN_ATTEMPTS_EXCEEDED(challenge_id=str(challenge.pk))
                lp_redis.client().delete(_pin_key(challenge.pk))
            else:
                error = errors.PIN_INVALID(
                    challenge_id=str(challenge.pk),
                    remaining_attempts=challenge.remaining_attempts,
                )
            challenge.save(update_fields=["remaining_attempts", "status"])
    if challenge is None:
        raise _new_challenge_error(**new_challenge)
    if error.code in ("pin_invalid", "pin_attempts_exceeded"):
        _count_towards_lock(customer, "wrong", settings.PIN_LOCK_MAX_WRONG)
    raise error


def pin_challenge_spend(*, challenge_id: uuid.UUID | None) -> None:
    """Spend a verified challenge inside the action's transaction; a challenge spent by a
    concurrent call is refused, so one PIN authorizes one action."""
    if challenge_id is None:
        return
    spent = PinChallenge.objects.filter(pk=challenge_id, status=PinChallenge.Status.OPEN).update(
        status=PinChallenge.Status.SPENT
    )
    if not spent:
        raise errors.PIN_ALREADY_USED()
    pin_key = _pin_key(challenge_id)
    # After commit the action stands: without Redis the clear PIN simply expires on its own.
    transaction.on_commit(
        lambda: lp_redis.fail_open("spent PIN removal", lambda: lp_redis.client().delete(pin_key), None)
    )


def open_pins_for_customer(*, customer: Customer) -> list[dict]:
    """The clear PINs of the customer's open, unexpired challenges: for the customer's own
    session only (the profile shows them)."""
    challenges = PinChallenge.objects.filter(
        customer=customer, status=PinChallenge.Status.OPEN, expires_at__gt=timezone.now()
    ).order_by("created_at")
    shown = []
    for challenge in challenges:
        raw = lp_redis.client().get(_pin_key(challenge.pk))
        if raw:
            pin = json.loads(raw)
            # Challenges issued before summaries existed.
            pin["summary"] = pin.get("summary") or str(ACTION_PROMPTS.get(pin["action"], ""))
            shown.append(pin)
    return shown


# ---------------------------------------------------------------------------------------
# Customer QR payloads
# ---------------------------------------------------------------------------------------

QR_STATIC_PREFIX = "LPQ1"
QR_ROTATING_PREFIX = "LPQ1R"


@dataclass(frozen=True)
class QrPayload:
    payload: str
    expires_at: datetime


def _qr_signature(organization: Organization, message: str) -> str:
    digest = hmac.new(organization.signing_secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def customer_qr_payload(
    *,
    organization: Organization,
    customer: Customer,
    now: datetime | None = None,
    lifetime: timedelta | None = None,
) -> QrPayload:
    """The signed content of the customer's QR: valid 24 hours (or `lifetime`: a wallet pass
    carries one that lasts longer, docs/decisions/0051-wallet-passes.md), or on Strict a code
    that rotates every 30 seconds (TOTP style)."""
    now = now or timezone.now()
    if organization.verification_preset == Preset.STRICT:
        step = int(now.timestamp()) // settings.QR_ROTATION_SECONDS
        message = f"{QR_ROTATING_PREFIX}.{customer.customer_code}.{step}"
        expires_at = datetime.fromtimestamp((step + 1) * settings.QR_ROTATION_SECONDS, tz=now.tzinfo)
    else:
        expires_at = now + (lifetime or timedelta(seconds=settings.QR_STATIC_SECONDS))
        message = f"{QR_STATIC_PREFIX}.{customer.customer_code}.{int(expires_at.timestamp())}"
    return QrPayload(payload=f"{message}.{_qr_signature(organization, message)}", expires_at=expires_at)


def customer_code_from_qr(*, organization: Organization, payload: str, now: datetime | None = None) -> int:
    """The customer code a QR payload names; errors.INVALID_QR() when it is malformed,
    tampered with, expired, or signed by another organization."""
    now = now or timezone.now()
    parts = payload.strip().split(".") if isinstance(payload, str) and len(payload) <= 200 else []
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        raise errors.INVALID_QR()
    prefix, code, moment, signature = parts
    if not constant_time_compare(_qr_signature(organization, f"{prefix}.{code}.{moment}"), signature):
        raise errors.INVALID_QR()
    if prefix == QR_ROTATING_PREFIX:
        current = int(now.timestamp()) // settings.QR_ROTATION_SECONDS
        if int(moment) not in (current, current - 1):  # one step of clock tolerance
            raise errors.INVALID_QR()
    elif prefix == QR_STATIC_PREFIX and organization.verification_preset != Preset.STRICT:
        if int(moment) <= now.timestamp():
            raise errors.INVALID_QR()
    else:
        raise errors.INVALID_QR()
    return int(code)
