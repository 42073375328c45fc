import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty_platform.audit.services import audit_record, staff_reason
from loyalty_platform.core import errors
from loyalty_platform.core.money import currency_exponent, exact_decimal
from loyalty_platform.core.text import has_control_characters
from loyalty_platform.customers.blocks import refuse_blocked_customer, refuse_blocked_now, refuse_erased_now
from loyalty_platform.customers.models import Customer
from loyalty_platform.stored_value.codes import giftcard_code_generate, giftcard_code_normalize
from loyalty_platform.stored_value.models import Giftcard, GiftcardBatch, MoneyEntry, PrepaidAccount
from loyalty_platform.verification.models import PinChallenge
from loyalty_platform.verification.services import pin_challenge_spend
from loyalty_platform.webhooks import outbox, payloads

Account = Giftcard | PrepaidAccount
MAX_BATCH = 10_000
_CUSTOMER_KEY_SHARE_SQL = f"SELECT 1 FROM {Customer._meta.db_table} WHERE id = %s FOR KEY SHARE"  # noqa: S608


def _post(
    *,
    account: Account,
    amount: Decimal,
    cause: str,
    external_id: str = "",
    api_key_lookup_id: str = "",
    staff_user=None,
    reversed_entry: MoneyEntry | None = None,
    note: str = "",
) -> MoneyEntry:
    """The one writer of a stored-value balance. The account must be row-locked by the
    caller's transaction; the balance and its entry are written together."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stored value changes must run inside the transaction that locked the account")
    new_balance = account.balance + amount
    if new_balance < 0:
        raise errors.INSUFFICIENT_BALANCE()
    account.balance = new_balance
    type(account).objects.filter(pk=account.pk).update(balance=new_balance, updated_at=timezone.now())
    entry = MoneyEntry.objects.create(
        giftcard=account if isinstance(account, Giftcard) else None,
        prepaid_account=account if isinstance(account, PrepaidAccount) else None,
        amount=amount,
        balance_after=new_balance,
        cause=cause,
        external_id=external_id,
        api_key_lookup_id=api_key_lookup_id,
        staff_user=staff_user,
        reversed_entry=reversed_entry,
        note=note,
    )
    _money_event_record(account, entry)
    return entry


def _money_event_record(account: Account, entry: MoneyEntry) -> None:
    """giftcard.transaction or prepaid.transaction for every money entry."""
    if isinstance(account, Giftcard):
        if outbox.is_subscribed("giftcard.transaction"):
            data = payloads.money_transaction(entry, currency=account.currency, giftcard=account)
            outbox.event_record("giftcard.transaction", data=data)
        return
    if outbox.is_subscribed("prepaid.transaction"):
        customer_code = Customer.objects.values_list("customer_code", flat=True).get(pk=account.customer_id)
        data = payloads.money_transaction(entry, currency=account.currency, customer_code=customer_code)
        outbox.event_record("prepaid.transaction", customer_id=account.customer_id, data=data)


@dataclass(frozen=True)
class Transaction:
    entry: MoneyEntry
    balance: Decimal
    remaining_to_pay: Decimal | None = None


def _transact(
    *, account: Account, amount: Decimal, allow_partial: bool, external_id: str, api_key_lookup_id: str
) -> Transaction:
    """Load (amount > 0) or pay (amount < 0) on a locked account. A payment beyond the
    balance is refused, or with allow_partial takes the whole balance and says what is left."""
    remaining = None
    if amount < 0 and account.balance + amount < 0:
        if not allow_partial or account.balance == 0:
            raise errors.INSUFFICIENT_BALANCE()
        remaining = -(account.balance + amount)
        amount = -account.balance
    cause = MoneyEntry.Cause.LOAD if amount > 0 else MoneyEntry.Cause.PAY
    entry = _post(
        account=account,
        amount=amount,
        cause=cause,
        external_id=external_id,
        api_key_lookup_id=api_key_lookup_id,
    )
    return Transaction(entry=entry, balance=account.balance, remaining_to_pay=remaining)


# ---------------------------------------------------------------------------------------
# Giftcards
# ---------------------------------------------------------------------------------------


def giftcard_status(giftcard: Giftcard, now: datetime | None = None) -> str:
    if giftcard.expires_at and giftcard.expires_at <= (now or timezone.now()):
        return "expired"
    return giftcard.status


def giftcard_by_code(raw_code: str) -> Giftcard:
    code = giftcard_code_normalize(raw_code)
    giftcard = Giftcard.objects.filter(code=code).first()
    if giftcard is None:
        raise errors.GIFTCARD_NOT_FOUND()
    return giftcard


def _new_giftcard(**fields) -> Giftcard:
    for _ in range(20):
        try:
            with transaction.atomic():
                return Giftcard.objects.create(code=giftcard_code_generate(), **fields)
        except IntegrityError:
            continue  # a code collision: draw again
    raise RuntimeError("could not draw a free giftcard code")


def batch_expiry(expires_on: date | None) -> datetime | None:
    """Cards of a batch that expires on a day can be used until the end of that day."""
    if expires_on is None:
        return None
    end_of_day = datetime.combine(expires_on + timedelta(days=1), time.min)
    return timezone.make_aware(end_of_day, timezone.get_default_timezone())


def giftcard_batch_generate(
    *,
    name: str,
    count: int,
    currency: str,
    expires_on: date | None = None,
    face_value: Decimal = Decimal(0),
    created_by=None,
) -> GiftcardBatch:
    """Printed cards. Without a face value they are inactive with a zero balance until their
    first load; with one, each starts active with it, loaded by a ledger entry."""
    if not 1 <= count <= MAX_BATCH:
        raise errors.COUNT_INVALID(max=MAX_BATCH)
    exact = exact_decimal(face_value, places=currency_exponent(currency))
    if exact is None or exact < 0:
        raise errors.AMOUNT_INVALID()
    expires_at = batch_expiry(expires_on)
    with transaction.atomic():
        batch = GiftcardBatch.objects.create(
            name=name, face_value=exact, currency=currency, expires_on=expires_on, created_by=created_by
        )
        status = Giftcard.Status.ACTIVE if exact else Giftcard.Status.INACTIVE
        for _ in range(count):
            card = _new_giftcard(
                kind=Giftcard.Kind.PRINTED,
                status=status,
                currency=currency,
                expires_at=expires_at,
                batch=batch,
            )
            if exact:
                _post(
                    account=card,
                    amount=exact,
                    cause=MoneyEntry.Cause.LOAD,
                    staff_user=created_by,
                    note=f"face value of batch {batch.pk}",
                )
    return batch


def giftcard_transact(
    *, code: str, amount: Decimal, external_id: str, allow_partial: bool = False, api_key_lookup_id: str = ""
) -> Transaction:
    found = giftcard_by_code(code)
    with transaction.atomic(savepoint=False):
        giftcard = Giftcard.objects.select_for_update().get(pk=found.pk)
        status = giftcard_status(giftcard)
        if status == "expired":
            raise errors.GIFTCARD_EXPIRED()
        if status == Giftcard.Status.BLOCKED:
            raise errors.GIFTCARD_BLOCKED()
        if amount > 0 and giftcard.status == Giftcard.Status.INACTIVE:
            giftcard.status = Giftcard.Status.ACTIVE
            Giftcard.objects.filter(pk=giftcard.pk).update(status=Giftcard.Status.ACTIVE)
        return _transact(
            account=giftcard,
            amount=amount,
            allow_partial=allow_partial,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
        )


def giftcard_create_digital(
    *,
    amount: Decimal,
    currency: str,
    recipient_email: str,
    recipient_name: str = "",
    sender_name: str = "",
    message: str = "",
    external_id: str = "",
    api_key_lookup_id: str = "",
) -> Transaction:
    """Create a digital card, load it, and email it to the recipient once committed."""
    from loyalty_platform.stored_value.emails import giftcard_email_send_on_commit

    if amount <= 0:
        raise errors.AMOUNT_INVALID()
    try:
        validate_email(recipient_email)
    except ValidationError:
        raise errors.RECIPIENT_EMAIL_INVALID(field="recipient_email") from None
    for field, value in (("recipient_name", recipient_name), ("sender_name", sender_name)):
        if has_control_characters(value):
            raise errors.field_error(field, "invalid")(field=field)
    if has_control_characters(message, multiline=True):
        raise errors.MESSAGE_INVALID(field="message")
    with transaction.atomic(savepoint=False):
        giftcard = _new_giftcard(
            kind=Giftcard.Kind.DIGITAL,
            status=Giftcard.Status.ACTIVE,
            currency=currency,
            recipient_email=recipient_email,
            recipient_name=recipient_name,
            sender_name=sender_name,
            message=message,
        )
        giftcard = Giftcard.objects.select_for_update().get(pk=giftcard.pk)
        result = _transact(
            account=giftcard,
            amount=amount,
            allow_partial=False,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
        )
        giftcard_email_send_on_commit(giftcard_id=giftcard.pk)
    return result


# ---------------------------------------------------------------------------------------
# Prepaid credit
# ---------------------------------------------------------------------------------------


def prepaid_account_locked(*, customer: Customer, currency: str) -> PrepaidAccount:
    account = PrepaidAccount.objects.select_for_update().filter(customer=customer).first()
    if account is not None:
        return account
    # No account to lock yet, so an erasure running now locked nothing of this customer's
    # money but their row: wait for it (KEY SHARE conflicts with its FOR UPDATE), and the
    # caller's refuse_erased_now then sees the erasure. Without this the new account's
    # foreign key is checked only at commit, after the top-up has read the status
    # (decision 0056).
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOMER_KEY_SHARE_SQL, [customer.pk])
    try:
        with transaction.atomic():
            PrepaidAccount.objects.create(customer=customer, currency=currency)
    except IntegrityError:
        pass  # created by a concurrent call
    return PrepaidAccount.objects.select_for_update().get(customer=customer)


def prepaid_transact_check(*, customer: Customer, amount: Decimal, allow_partial: bool = False) -> None:
    """The refusals of a prepaid transaction that need no PIN (customer_blocked, for a top-up
    too; insufficient_balance: beyond the balance without allow_partial, or nothing to take
    with it), from a plain read without locks: call it before the PIN step.
    prepaid_transact checks again under its lock."""
    refuse_blocked_customer(customer)
    if amount >= 0:
        return
    balance = PrepaidAccount.objects.filter(customer=customer).values_list("balance", flat=True).first()
    balance = balance or Decimal("0")
    if balance + amount < 0 and (not allow_partial or balance == 0):
        raise errors.INSUFFICIENT_BALANCE()


def prepaid_transact(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    external_id: str,
    allow_partial: bool = False,
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
) -> Transaction:
    """Top up (amount > 0) or pay (amount < 0) with the customer's prepaid credit; spends the
    verified PIN challenge (payments ask for one under Balanced and Strict)."""
    with transaction.atomic(savepoint=False):
        pin_challenge_spend(challenge_id=pin_challenge_id)
        account = prepaid_account_locked(customer=customer, currency=currency)
        refuse_blocked_now(customer_id=customer.pk)
        if amount > 0:
            refuse_erased_now(customer_id=customer.pk)
        return _transact(
            account=account,
            amount=amount,
            allow_partial=allow_partial,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
        )


# ---------------------------------------------------------------------------------------
# Reversals and staff adjustments
# ---------------------------------------------------------------------------------------


def money_entry_reverse(
    *, entry_id, account_kind: str, external_id: str = "", api_key_lookup_id: str = "", staff_user=None
) -> Transaction:
    """Undo one transaction, exactly once. A reversal cannot itself be reversed; undoing a
    load is refused when the money has been spent meanwhile."""
    account_field = "giftcard" if account_kind == "giftcard" else "prepaid_account"
    entry = MoneyEntry.objects.filter(pk=entry_id, **{f"{account_field}__isnull": False}).first()
    if entry is None:
        raise errors.TRANSACTION_NOT_FOUND()
    if entry.cause == MoneyEntry.Cause.REVERSAL:
        raise errors.REVERSAL_NOT_REVERSIBLE()
    model = Giftcard if account_kind == "giftcard" else PrepaidAccount
    with transaction.atomic(savepoint=False):
        account = model.objects.select_for_update().get(pk=getattr(entry, f"{account_field}_id"))
        if MoneyEntry.objects.filter(reversed_entry=entry).exists():
            raise errors.TRANSACTION_ALREADY_REVERSED()
        # Giftcards have no owner; prepaid credit is its customer's.
        refuse_blocked_now(customer_id=getattr(account, "customer_id", None))
        if -entry.amount > 0:
            refuse_erased_now(customer_id=getattr(account, "customer_id", None))
        reversal = _post(
            account=account,
            amount=-entry.amount,
            cause=MoneyEntry.Cause.REVERSAL,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
            staff_user=staff_user,
            reversed_entry=entry,
        )
        return Transaction(entry=reversal, balance=account.balance)


def money_adjust_check(*, account: Account, amount: Decimal, reason: str) -> None:
    """The refusals of a staff correction that need no PIN (reason_required,
    insufficient_balance), from the account as read: call it before the PIN step."""
    if not reason.strip():
        raise errors.REASON_REQUIRED()
    if account.balance + amount < 0:
        raise errors.INSUFFICIENT_BALANCE()


def money_adjust(
    *, account: Account, amount: Decimal, reason: str, staff_user, pin_challenge_id: uuid.UUID | None = None
) -> MoneyEntry:
    """A staff correction: needs a reason, goes through the ledger, lands in the audit log;
    spends the customer's verified PIN challenge where the preset asks for one."""
    if not reason.strip():
        raise errors.REASON_REQUIRED()
    with transaction.atomic():
        pin_challenge_spend(challenge_id=pin_challenge_id)
        locked = type(account).objects.select_for_update().get(pk=account.pk)
        if amount > 0:
            refuse_erased_now(customer_id=getattr(locked, "customer_id", None))
        entry = _post(
            account=locked,
            amount=amount,
            cause=MoneyEntry.Cause.ADJUST,
            staff_user=staff_user,
            note=reason.strip(),
        )
        audit_record(
            actor=staff_user,
            action="stored_value.adjust",
            target=locked,
            details={"amount": str(amount), "reason": reason.strip(), "entry": str(entry.pk)},
        )
    account.balance = locked.balance
    return entry


def prepaid_pin_action(*, amount: Decimal) -> str | None:
    """Paying with prepaid credit asks the customer's PIN (where the preset does); topping up
    does not."""
    return PinChallenge.Action.PREPAID_PAY if amount < 0 else None


def prepaid_balance(*, customer: Customer, currency: str) -> tuple[Decimal, str]:
    """The customer's prepaid balance and its currency (the organization's, before any)."""
    account = PrepaidAccount.objects.filter(customer=customer).first()
    return (account.balance, account.currency) if account else (Decimal(0), currency)


def _giftcard_status_change(*, giftcard: Giftcard, actor, action: str, reason: str, block: bool) -> Giftcard:
    reason = staff_reason(reason)
    with transaction.atomic():
        locked = Giftcard.objects.select_for_update().get(pk=giftcard.pk)
        is_blocked = locked.status == Giftcard.Status.BLOCKED
        if block and is_blocked:
            raise errors.ALREADY_BLOCKED()
        if not block and not is_blocked:
            raise errors.NOT_BLOCKED()
        old = locked.status
        if block:
            locked.status = Giftcard.Status.BLOCKED
        else:
            # Back to what it was: active once loaded, inactive while never loaded.
            loaded = locked.entries.exists()
            locked.status = Giftcard.Status.ACTIVE if loaded else Giftcard.Status.INACTIVE
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=action,
            target=locked,
            details={"reason": reason, "changes": {"status": [old, locked.status]}},
        )
    giftcard.status = locked.status
    return locked


def giftcard_block(*, giftcard: Giftcard, actor, reason: str) -> Giftcard:
    """Block a giftcard: the POS API refuses it (giftcard_blocked) until unblocked."""
    return _giftcard_status_change(
        giftcard=giftcard, actor=actor, action="giftcards.block", reason=reason, block=True
    )


def giftcard_unblock(*, giftcard: Giftcard, actor, reason: str) -> Giftcard:
    return _giftcard_status_change(
        giftcard=giftcard, actor=actor, action="giftcards.unblock", reason=reason, block=False
    )
