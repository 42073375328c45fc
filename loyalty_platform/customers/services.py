import re
import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from loyalty_platform.accounts.models import User
from loyalty_platform.audit.services import audit_record, staff_reason
from loyalty_platform.campaigns import events as campaign_events
from loyalty_platform.core import errors
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import ConsentEvent, Customer
from loyalty_platform.customers.welcome import welcome_email_send_on_commit
from loyalty_platform.identification.models import Invitation, invitation_channel
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.programs.models import Card, LedgerEntry
from loyalty_platform.realtime.publish import publish_public_on_commit
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.stored_value.models import Giftcard, PrepaidAccount
from loyalty_platform.stored_value.money_left import refuse_erase_with_money_left
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.vouchers.models import Voucher, VoucherRedemption
from loyalty_platform.webhooks import outbox, payloads
from tenants.limits import current_organization, plan_limit_reserve

E164_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
_CODE_ATTEMPTS = 20


def customer_code_candidate() -> int:
    return 100000 + secrets.randbelow(900000)


def normalize_email(email: object) -> str:
    if email is None or (isinstance(email, str) and not email.strip()):
        raise errors.EMAIL_REQUIRED()
    if not isinstance(email, str) or len(email) > 254:
        raise errors.INVALID_EMAIL()
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise errors.INVALID_EMAIL() from error
    return email.lower()


def normalize_phone(phone: str) -> str:
    compact = re.sub(r"[\s().-]", "", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not E164_PATTERN.match(compact):
        raise errors.PHONE_INVALID()
    return compact


MAX_AGE_YEARS = 130


def normalize_birth_date(value: object, *, today: date | None = None) -> date | None:
    """A birth date from a date or "YYYY-MM-DD" text (None or "" for none), or
    BIRTH_DATE_INVALID: not a real date, in the future, or more than 130 years back."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise errors.BIRTH_DATE_INVALID(field="birth_date") from None
    if not isinstance(value, date):
        raise errors.BIRTH_DATE_INVALID(field="birth_date")
    today = today or timezone.localdate()
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = date(today.year - MAX_AGE_YEARS, 3, 1)
    if not oldest <= value <= today:
        raise errors.BIRTH_DATE_INVALID(field="birth_date")
    return value


def customer_birth_date_set(*, customer: Customer, birth_date: object) -> Customer:
    """The customer sets or clears ("" or None) their own birth date; BIRTH_DATE_INVALID
    changes nothing."""
    value = normalize_birth_date(birth_date)
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(birth_date=value, updated_at=timezone.now())
        customer.birth_date = value
        customer_updated_record(customer, changed=["birth_date"])
    return customer


def customer_language_set(*, customer: Customer, language: str) -> Customer:
    """The customer's choice of language for their pages and emails ("" follows the browser).
    A preference of the pages, not customer data an integration keeps: no customer.updated."""
    Customer.objects.filter(pk=customer.pk).update(language=language, updated_at=timezone.now())
    customer.language = language
    return customer


def customer_updated_record(customer: Customer, *, changed: list[str]) -> None:
    """customer.updated, in the transaction of the change; `changed` names the fields."""
    outbox.event_record(
        "customer.updated", customer_id=customer.pk, data=payloads.customer_updated(customer, changed=changed)
    )


def customer_with_email(email: str) -> Customer | None:
    """The customer with this email in any case, any status. Compared with lower() on both
    sides, the expression of the unique index (Django's iexact compares upper(), which no
    index serves: a scan of the table per call)."""
    return (
        Customer.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .exclude(email="")  # the unique index's condition, so that it serves the look-up
        .first()
    )


# --- Marketing consent per channel (docs/decisions/0055) -----------------------------------------

# The customer's column of each channel's marketing consent; the email one keeps its old name.
CONSENT_FIELDS = {
    ConsentEvent.Channel.EMAIL: "consent_marketing_at",
    ConsentEvent.Channel.SMS: "consent_sms_at",
}
# The `source` of an enrollment (customer_enroll, pending_member_activate) as a consent source.
ENROLL_CONSENT_SOURCES = {
    "pos_api": ConsentEvent.Source.TILL,
    "profile": ConsentEvent.Source.SIGNUP,
    "phone": ConsentEvent.Source.SIGNUP,
    "import": ConsentEvent.Source.IMPORT,
}


def _consents_given_record(customer: Customer, *, source: str, at) -> None:
    """The events of the marketing consents a customer gave when joining."""
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            customer=customer,
            channel=channel,
            given=True,
            source=ENROLL_CONSENT_SOURCES.get(source, ConsentEvent.Source.SIGNUP),
            created_at=at,
        )
        for channel, field in CONSENT_FIELDS.items()
        if getattr(customer, field) is not None
    )


def customer_marketing_consent_set(
    *, customer: Customer, channel: str, given: bool, source: str, actor: User | None = None
) -> bool:
    """Give or withdraw the customer's marketing consent on one channel (email or sms), from
    `source` (a ConsentEvent.Source): the column, one ConsentEvent, the audit record and
    customer.updated, in one transaction. False, with nothing recorded, when the consent is
    already so (a double click, a second unsubscribe). consent_channel_invalid,
    consent_sms_phone_required (offers by text need a number),
    customer_erased and customer_not_found (pending: no consent yet) change nothing."""
    valid = channel in CONSENT_FIELDS and source in ConsentEvent.Source.values and isinstance(given, bool)
    if not valid:
        raise errors.CONSENT_CHANNEL_INVALID(field="channel")
    field = CONSENT_FIELDS[channel]
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
        if locked is None or locked.status == Customer.Status.PENDING:
            raise errors.CUSTOMER_NOT_FOUND()
        if locked.status == Customer.Status.DELETED:
            raise errors.CUSTOMER_ERASED()
        if (getattr(locked, field) is not None) == given:
            return False
        if given and channel == ConsentEvent.Channel.SMS and not locked.phone:
            raise errors.CONSENT_SMS_PHONE_REQUIRED(field="channel")
        now = timezone.now()
        value = now if given else None
        Customer.objects.filter(pk=locked.pk).update(**{field: value, "updated_at": now})
        setattr(locked, field, value)
        setattr(customer, field, value)
        ConsentEvent.objects.create(
            customer=locked, channel=channel, given=given, source=source, created_at=now
        )
        audit_record(
            actor=actor,
            action="customers.consent",
            target=locked,
            details={"channel": channel, "given": given, "source": source},
        )
        customer_updated_record(locked, changed=[field])
    return True


def pending_member_activate(
    *,
    customer: Customer,
    email: str,
    name: str,
    consent_marketing: bool,
    source: str,
    birth_date: date | None = None,
    consent_sms: bool = False,
) -> None:
    """A pending member (enrolled by phone, docs/decisions/0052; `customer` locked by the
    caller) becomes an active member with the consents given now: each open invitation of
    theirs is accepted and its till told (invitation_accepted), and the enrollment's events
    are recorded as for a new customer."""
    now = timezone.now()
    customer.status = Customer.Status.ACTIVE
    customer.consent_terms_at = now
    customer.consent_privacy_at = now
    customer.consent_marketing_at = now if consent_marketing else None
    customer.consent_sms_at = now if consent_sms else None
    customer.email = email
    if name.strip():
        customer.name = name.strip()[:150]
    if birth_date is not None:
        customer.birth_date = birth_date
    customer.save(
        update_fields=[
            "status",
            "consent_terms_at",
            "consent_privacy_at",
            "consent_marketing_at",
            "consent_sms_at",
            "email",
            "name",
            "birth_date",
            "updated_at",
        ]
    )
    invitations = list(
        Invitation.objects.select_for_update()
        .filter(customer=customer, status=Invitation.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Invitation.objects.filter(pk__in=invitations).update(status=Invitation.Status.ACCEPTED, accepted_at=now)
    _consents_given_record(customer, source=source, at=now)
    for invitation_id in invitations:
        publish_public_on_commit(
            channel=invitation_channel(invitation_id),
            event="invitation_accepted",
            data={"invitation_id": invitation_id, "customer_code": customer.customer_code},
        )
    campaign_events.customer_enrolled(customer_id=customer.pk)
    outbox.event_record(
        "customer.enrolled", customer_id=customer.pk, data=payloads.customer_enrolled(customer, source=source)
    )


def customer_enroll(
    *,
    email: object,
    consent_terms: bool,
    consent_privacy: bool,
    consent_marketing: bool = False,
    name: str = "",
    phone: str = "",
    birth_date: date | None = None,
    source: str = "pos_api",
    consent_sms: bool = False,
) -> tuple[Customer, bool]:
    """Enroll a customer, or return the one already enrolled with this email (any case), as
    they are. Returns (customer, is_new). Safe under concurrent calls with the same email.
    `birth_date` (optional) is checked by normalize_birth_date even for a known email.
    `source` (pos_api, profile, import) is told in the customer.enrolled event. At a till
    (pos_api), a pending member with the `phone` given (enrolled by phone, not finished
    joining) becomes this customer: they join now, with this email and these consents.
    `consent_marketing` is the email channel's marketing consent, `consent_sms` the text
    messages'; each one given is a ConsentEvent too."""
    normalized = normalize_email(email)
    birth_date = normalize_birth_date(birth_date)
    existing = customer_with_email(normalized)
    if existing is not None:
        return existing, False
    if consent_terms is not True:
        raise errors.CONSENT_TERMS_REQUIRED()
    if consent_privacy is not True:
        raise errors.CONSENT_PRIVACY_REQUIRED()
    phone = normalize_phone(phone) if phone else ""
    now = timezone.now()
    for _ in range(_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                # Not a new row: the pending member the phone names joins (no plan place taken).
                # Only from a till, which enrolled the number itself: a sign-up form's phone is
                # not verified, and must not take over someone else's pending membership.
                pending = (
                    Customer.objects.select_for_update()
                    .filter(phone=phone, email="", status=Customer.Status.PENDING)
                    .first()
                    if phone and source == "pos_api"
                    else None
                )
                if pending is not None:
                    pending_member_activate(
                        customer=pending,
                        email=normalized,
                        name=name,
                        consent_marketing=consent_marketing,
                        consent_sms=consent_sms,
                        source=source,
                        birth_date=birth_date,
                    )
                    if source == "pos_api":
                        welcome_email_send_on_commit(customer_id=pending.pk)
                    return pending, True
                try:
                    plan_limit_reserve(organization=current_organization(), limit="customers")
                except errors.DomainError:
                    # The place may have gone to the same email enrolling at this moment.
                    if (existing := customer_with_email(normalized)) is not None:
                        return existing, False
                    raise
                customer = Customer.objects.create(
                    customer_code=customer_code_candidate(),
                    email=normalized,
                    phone=phone,
                    name=name.strip(),
                    birth_date=birth_date,
                    consent_terms_at=now,
                    consent_privacy_at=now,
                    consent_marketing_at=now if consent_marketing else None,
                    consent_sms_at=now if consent_sms and phone else None,  # texts need a number
                )
                _consents_given_record(customer, source=source, at=now)
                campaign_events.customer_enrolled(customer_id=customer.pk)
                outbox.event_record(
                    "customer.enrolled",
                    customer_id=customer.pk,
                    data=payloads.customer_enrolled(customer, source=source),
                )
                if source == "pos_api":
                    # Enrolled at a till: nobody sent them a sign-in link, so the welcome does.
                    welcome_email_send_on_commit(customer_id=customer.pk)
            return customer, True
        except IntegrityError:
            # Another request enrolled the same email first, or the code was taken: the table
            # tells which, not the constraint's name.
            existing = customer_with_email(normalized)
            if existing is not None:
                return existing, False
    raise RuntimeError("could not draw a free customer code")


# --- Staff changes: each one audited in its own transaction -------------------------------------


def _status_change(
    *, model, pk, actor: User | None, action: str, reason: str, allowed_from: set[str], to: str
) -> models.Model:
    """Move one customer's or card's status, under its row lock, with its audit record."""
    reason = staff_reason(reason)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=pk)
        if model is Customer and locked.status == Customer.Status.DELETED:
            raise errors.CUSTOMER_ERASED()
        if locked.status not in allowed_from:
            raise errors.ALREADY_BLOCKED() if to == "blocked" else errors.NOT_BLOCKED()
        old = locked.status
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=action,
            target=locked,
            details={"reason": reason, "changes": {"status": [old, to]}},
        )
        if outbox.is_subscribed("customer.blocked"):
            if model is Customer:
                customer_id, customer_code, card_number = locked.pk, locked.customer_code, None
            else:
                customer_id, card_number = locked.customer_id, locked.card_number
                customer_code = Customer.objects.values_list("customer_code", flat=True).get(pk=customer_id)
            outbox.event_record(
                "customer.blocked",
                customer_id=customer_id,
                data=payloads.customer_blocked(
                    customer_code=customer_code, blocked=to == "blocked", card_number=card_number
                ),
            )
    return locked


def customer_block(*, customer: Customer, actor: User | None, reason: str) -> Customer:
    """Block a customer: the POS API refuses them (customer_blocked) until unblocked."""
    locked = _status_change(
        model=Customer,
        pk=customer.pk,
        actor=actor,
        action="customers.block",
        reason=reason,
        allowed_from={Customer.Status.ACTIVE},
        to=Customer.Status.BLOCKED,
    )
    customer.status = locked.status
    return locked


def customer_unblock(*, customer: Customer, actor: User | None, reason: str) -> Customer:
    locked = _status_change(
        model=Customer,
        pk=customer.pk,
        actor=actor,
        action="customers.unblock",
        reason=reason,
        allowed_from={Customer.Status.BLOCKED},
        to=Customer.Status.ACTIVE,
    )
    customer.status = locked.status
    return locked


def card_block(*, card: Card, actor: User | None, reason: str) -> Card:
    """Block one card: the POS API refuses it (card_blocked); the customer's other cards work."""
    locked = _status_change(
        model=Card,
        pk=card.pk,
        actor=actor,
        action="cards.block",
        reason=reason,
        allowed_from={Card.Status.ACTIVE, Card.Status.EXPIRED},
        to=Card.Status.BLOCKED,
    )
    card.status = locked.status
    return locked


def card_unblock(*, card: Card, actor: User | None, reason: str) -> Card:
    locked = _status_change(
        model=Card,
        pk=card.pk,
        actor=actor,
        action="cards.unblock",
        reason=reason,
        allowed_from={Card.Status.BLOCKED},
        to=Card.Status.ACTIVE,
    )
    card.status = locked.status
    return locked


def phone_change_check(*, customer: Customer, phone: str) -> None:
    """A member without an email (docs/decisions/0052) keeps a phone, their own among such
    members: phone_required, phone_taken."""
    if customer.email:
        return
    if not phone:
        raise errors.PHONE_REQUIRED(field="phone")
    others = Customer.objects.filter(phone=phone, email="").exclude(pk=customer.pk)
    if others.exists():
        raise errors.PHONE_TAKEN(field="phone")


EDITABLE_FIELDS = ("name", "phone", "birth_date")
_KEEP = object()


def customer_update(
    *, customer: Customer, actor: User | None, name: str, phone: str, birth_date: object = _KEEP
) -> Customer:
    """A staff edit of the customer's name, phone or birth date (left as it is unless given;
    None clears it). The email is the customer's key and the status changes through blocks."""
    values = {"name": name.strip()[:150], "phone": normalize_phone(phone) if phone.strip() else ""}
    if birth_date is not _KEEP:
        values["birth_date"] = normalize_birth_date(birth_date)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.status == Customer.Status.DELETED:
            raise errors.CUSTOMER_ERASED()
        phone_change_check(customer=locked, phone=values["phone"])
        changes = {
            field: [_audit_text(getattr(locked, field)), _audit_text(value)]
            for field, value in values.items()
            if getattr(locked, field) != value
        }
        if changes:
            for field, value in values.items():
                setattr(locked, field, value)
            try:
                with transaction.atomic():
                    locked.save(update_fields=[*values, "updated_at"])
            except IntegrityError:
                # Another edit gave the number to another member without an email meanwhile
                # (customer_phone_only_unique): phone_change_check could not see it yet.
                raise errors.PHONE_TAKEN(field="phone") from None
            audit_record(actor=actor, action="customers.update", target=locked, details={"changes": changes})
            customer_updated_record(locked, changed=list(changes))
    return locked


def _audit_text(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _money_entries(entries) -> list[dict]:
    return [
        {
            "at": _when(e.created_at),
            "cause": e.cause,
            "amount": str(e.amount),
            "balance_after": str(e.balance_after),
            "external_id": e.external_id,
            "note": e.note,
        }
        for e in entries
    ]


def customer_export(*, customer: Customer) -> dict:
    """Everything held about the customer, for their own download or a staff answer to
    their request: profile, consents, cards and ledgers, coupons, vouchers, orders,
    rewards, prepaid credit, giftcards sent to their email, PIN challenges."""
    cards = []
    entries = LedgerEntry.objects.filter(card__customer=customer).order_by("pk")
    by_card: dict[int, list] = {}
    for e in entries:
        by_card.setdefault(e.card_id, []).append(
            {
                "at": _when(e.created_at),
                "cause": e.cause,
                "delta": e.delta,
                "balance_after": e.balance_after,
                "external_id": e.external_id,
                "reverses": e.reversed_entry_id,
                "note": e.note,
            }
        )
    for card in Card.objects.filter(customer=customer).select_related("program").order_by("pk"):
        cards.append(
            {
                "program": card.program.name,
                "kind": card.program.kind,
                "card_number": card.card_number,
                "status": card.status,
                "balance": card.balance,
                "created_at": _when(card.created_at),
                "entries": by_card.get(card.pk, []),
            }
        )
    prepaid = PrepaidAccount.objects.filter(customer=customer).first()
    orders = Order.objects.filter(customer=customer).prefetch_related("lines").order_by("created_at")
    returns = OrderReturn.objects.filter(order__customer=customer).order_by("created_at")
    giftcards = Giftcard.objects.filter(recipient_email__iexact=customer.email).exclude(recipient_email="")
    return {
        "customer": {
            "customer_code": customer.customer_code,
            "email": customer.email,
            "name": customer.name,
            "phone": customer.phone,
            "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
            "status": customer.status,
            "created_at": _when(customer.created_at),
            "updated_at": _when(customer.updated_at),
        },
        "consents": {
            "terms_at": _when(customer.consent_terms_at),
            "privacy_at": _when(customer.consent_privacy_at),
            "marketing_at": _when(customer.consent_marketing_at),
            "marketing_sms_at": _when(customer.consent_sms_at),
            "history": [
                {"at": _when(e.created_at), "channel": e.channel, "given": e.given, "source": e.source}
                for e in customer.consent_events.order_by("created_at", "pk")
            ],
        },
        "cards": cards,
        "coupons": [
            {
                "name": c.name,
                "status": c.status,
                "issued_at": _when(c.issued_at),
                "expires_at": _when(c.expires_at),
                "redeemed_at": _when(c.redeemed_at),
            }
            for c in Coupon.objects.filter(customer=customer).order_by("issued_at")
        ],
        "vouchers": [
            {"code": v.code, "promotion": v.promotion.title, "status": v.status, "uses": v.uses}
            for v in Voucher.objects.filter(customer=customer).select_related("promotion").order_by("pk")
        ],
        "voucher_redemptions": [
            {"voucher": r.voucher.code, "at": _when(r.created_at), "reversed_at": _when(r.reversed_at)}
            for r in VoucherRedemption.objects.filter(customer=customer)
            .select_related("voucher")
            .order_by("pk")
        ],
        "orders": [
            {
                "external_id": o.external_id,
                "at": _when(o.created_at),
                "total": str(o.total),
                "currency": o.currency,
                "status": o.status,
                "points_earned": o.points_earned,
                "lines": [
                    {
                        "sku": line.sku,
                        "name": line.name,
                        "quantity": str(line.quantity),
                        "unit_price": str(line.unit_price),
                    }
                    for line in o.lines.all()
                ],
            }
            for o in orders
        ],
        "returns": [
            {"order": r.order.external_id, "external_id": r.external_id, "at": _when(r.created_at)}
            for r in returns.select_related("order")
        ],
        "reward_receptions": [
            {"reward": r.reward.name, "points": r.points, "status": r.status, "at": _when(r.created_at)}
            for r in RewardReception.objects.filter(customer=customer)
            .select_related("reward")
            .order_by("created_at")
        ],
        "prepaid": None
        if prepaid is None
        else {
            "balance": str(prepaid.balance),
            "currency": prepaid.currency,
            "entries": _money_entries(prepaid.entries.order_by("created_at")),
        },
        "giftcards": [
            {
                "code": g.code,
                "status": g.status,
                "balance": str(g.balance),
                "currency": g.currency,
                "recipient_name": g.recipient_name,
                "entries": _money_entries(g.entries.order_by("created_at")),
            }
            for g in giftcards.order_by("created_at")
        ],
        "pin_challenges": [
            {"action": p.action, "status": p.status, "at": _when(p.created_at)}
            for p in PinChallenge.objects.filter(customer=customer).order_by("created_at")
        ],
    }


def customer_data_export(*, customer: Customer, actor: User) -> dict:
    """Staff answer a customer's request for their data; the audit log says who fetched it."""
    data = customer_export(customer=customer)
    audit_record(
        actor=actor,
        action="customers.data_export",
        target=customer,
        details={"cards": len(data["cards"]), "orders": len(data["orders"])},
    )
    return data


def _consents_withdrawn_on_erase(customer: Customer, *, by_staff: bool) -> None:
    """Erasure withdraws the marketing consents still given (`customer` as read before it).
    The history stays: it holds no personal data, only channels and times, and it is the
    record of when each consent was given and withdrawn (docs/decisions/0055)."""
    now = timezone.now()
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            customer=customer,
            channel=channel,
            given=False,
            source=ConsentEvent.Source.STAFF if by_staff else ConsentEvent.Source.PROFILE,
            created_at=now,
        )
        for channel, field in CONSENT_FIELDS.items()
        if getattr(customer, field) is not None
    )


def customer_erase(*, customer: Customer, actor: User | None = None, reason: str = "") -> Customer:
    """Erase the customer's personal data, irreversibly: name, email, phone, birth date, marketing
    consents (withdrawn events added; the history kept), the names on giftcards sent to them.
    The row stays, anonymized, so ledgers, orders and balances keep adding up for the books;
    the status `deleted` ends every further use (the POS API and the profile no longer find
    them). Open coupons and vouchers are voided, sign-in links and phone changes dropped.
    Refused (customer_has_money, nothing changed) while the customer has prepaid credit or
    giftcard money left (stored_value.money_left). Staff erase on request (actor set);
    customers themselves from their profile (no actor)."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.status == Customer.Status.DELETED:
            raise errors.CUSTOMER_ERASED()
        # Refused while prepaid credit or giftcard money is left; the rows it lives in stay
        # locked until the erasure commits, so no top-up lands in between (decision 0056).
        refuse_erase_with_money_left(customer=locked, email=locked.email)
        old_email = locked.email
        Customer.objects.filter(pk=locked.pk).update(
            email=f"deleted-{locked.pk}@deleted.invalid",
            name="",
            phone="",
            birth_date=None,
            status=Customer.Status.DELETED,
            consent_marketing_at=None,
            consent_sms_at=None,
            updated_at=timezone.now(),
        )
        _consents_withdrawn_on_erase(locked, by_staff=actor is not None)
        coupons = Coupon.objects.filter(customer=locked, status=Coupon.Status.ACTIVE).update(
            status=Coupon.Status.VOID
        )
        # An expired voucher too: extending its promotion would make it active again.
        vouchers = Voucher.objects.filter(
            customer=locked, status__in=[Voucher.Status.ACTIVE, Voucher.Status.EXPIRED]
        ).update(status=Voucher.Status.VOID)
        # A member without an email had none sent to them ("" would match every giftcard
        # sent to nobody and erase their names).
        giftcards = (
            Giftcard.objects.filter(recipient_email__iexact=old_email).update(
                recipient_email="", recipient_name=""
            )
            if old_email
            else 0
        )
        locked.login_links.all().delete()
        locked.phone_changes.all().delete()  # numbers waiting for their code
        # The tills' invitations named their phone or email; links to finish joining go too.
        Invitation.objects.filter(customer=locked).update(phone="", email="")
        locked.join_links.all().delete()
        campaign_events.customer_erased(customer_id=locked.pk)
        locked.refresh_from_db()  # the audit row names the erased customer, not their email
        customer_updated_record(
            locked,
            changed=["birth_date", "consent_marketing", "consent_sms", "email", "name", "phone", "status"],
        )
        audit_record(
            actor=actor,
            action="customers.erase",
            target=locked,
            details={
                "by": "staff" if actor else "customer",
                "reason": reason.strip()[:255],
                "coupons_voided": coupons,
                "vouchers_voided": vouchers,
                "giftcards_anonymized": giftcards,
            },
        )
    customer.refresh_from_db()
    return customer
