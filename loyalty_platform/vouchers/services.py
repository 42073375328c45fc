import re
import secrets
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.attributes.services import attributes_clean
from loyalty_platform.audit.services import audit_record, staff_reason
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.money import currency_exponent, exact_decimal
from loyalty_platform.core.tokens import token_hash
from loyalty_platform.customers.blocks import refuse_blocked_customer
from loyalty_platform.customers.models import Customer
from loyalty_platform.rewards.discounts import DiscountType, discount_errors, organization_currency
from loyalty_platform.stored_value.codes import ALPHABET
from loyalty_platform.vouchers.models import Promotion, Voucher, VoucherRedemption
from loyalty_platform.vouchers.rules import promotion_errors
from loyalty_platform.webhooks import outbox, payloads

CODE_PATTERN = re.compile(r"^[A-Z0-9_]{4,64}$")
DEFAULT_LOCK_SECONDS = 120
MAX_LOCK_SECONDS = 3600


def voucher_code_normalize(raw: object) -> str:
    code = re.sub(r"[\s-]", "", raw if isinstance(raw, str) else "").upper()
    if not CODE_PATTERN.match(code):
        raise errors.VOUCHER_NOT_FOUND()
    return code


def voucher_code_generate() -> str:
    """Twelve readable characters (60 random bits), shown as XXXX-XXXX-XXXX."""
    return "".join(secrets.choice(ALPHABET) for _ in range(12))


def vouchers_generate(
    *, promotion: Promotion, count: int, customer: Customer | None = None, pool: str = ""
) -> list[Voucher]:
    if not 1 <= count <= 100_000:
        raise errors.COUNT_INVALID()
    created = []
    with transaction.atomic():
        while len(created) < count:
            try:
                with transaction.atomic():
                    created.append(
                        Voucher.objects.create(
                            promotion=promotion, code=voucher_code_generate(), customer=customer, pool=pool
                        )
                    )
            except IntegrityError:
                continue  # a collision: draw again
    return created


def vouchers_import(*, promotion: Promotion, codes: list[str], pool: str) -> int:
    """Import a pool of codes; all or nothing, refusing malformed or duplicate codes."""
    normalized = []
    for raw in codes:
        try:
            normalized.append(voucher_code_normalize(raw))
        except DomainError:
            raise errors.VOUCHER_CODE_INVALID(voucher_code=str(raw)[:64]) from None
    duplicates = {code for code in normalized if normalized.count(code) > 1}
    duplicates |= set(Voucher.objects.filter(code__in=normalized).values_list("code", flat=True))
    if duplicates:
        raise errors.VOUCHER_CODE_DUPLICATE(voucher_code=sorted(duplicates)[0])
    Voucher.objects.bulk_create(Voucher(promotion=promotion, code=code, pool=pool) for code in normalized)
    return len(normalized)


PROMOTION_FIELDS = (
    "title",
    "description",
    "discount_type",
    "discount_value",
    "product_code",
    "category",
    "valid_from",
    "valid_until",
    "minimum_spend",
    "uses_per_voucher",
    "uses_per_customer",
    "is_active",
    "attributes",
)
# What vouchers.rules.promotion_errors reads (the discount's fields: rewards.discounts).
PROMOTION_RULE_FIELDS = (
    "title",
    "description",
    "product_code",
    "category",
    "valid_from",
    "valid_until",
    "minimum_spend",
    "uses_per_voucher",
    "uses_per_customer",
)
MAX_COUNT = 2**31 - 1  # PositiveIntegerField


def _field_refusal(field: str, value: object, reason: object) -> DomainError:
    missing = value is None or (isinstance(value, str) and not value.strip())
    if missing:
        return errors.PROMOTION_FIELD_REQUIRED(field=field, reason=str(reason))
    return errors.PROMOTION_FIELD_INVALID(field=field, reason=str(reason))


def _text(values: dict, name: str, *, required: bool = False) -> str:
    value = values[name]
    value = "" if value is None and not required else value
    if not isinstance(value, str):
        raise _field_refusal(name, value, "not text")
    max_length = Promotion._meta.get_field(name).max_length
    if max_length and len(value) > max_length:
        raise _field_refusal(name, value, f"longer than {max_length} characters")
    if required and not value.strip():
        raise _field_refusal(name, value, "required")
    return value.strip() if required else value


def _decimal(values: dict, name: str) -> Decimal | None:
    value = values[name]
    if value is None:
        return None
    field = Promotion._meta.get_field(name)
    limit = Decimal(10) ** (field.max_digits - field.decimal_places)
    places = field.decimal_places
    exact = None if isinstance(value, str) else exact_decimal(value, places=places, maximum=limit)
    if exact is None:
        raise _field_refusal(name, value, f"a decimal number below {limit} with at most {places} decimals")
    return exact


def _moment(values: dict, name: str) -> datetime | None:
    value = values[name]
    if value is not None and not (isinstance(value, datetime) and timezone.is_aware(value)):
        raise _field_refusal(name, value, "a date and time with its UTC offset")
    return value


def _count(values: dict, name: str, *, optional: bool) -> int | None:
    value = values[name]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _field_refusal(name, value, f"a whole number from 0 to {MAX_COUNT}")
    return value


def _promotion_values(values: dict) -> dict:
    """A promotion's settings (every name of PROMOTION_FIELDS) as they would be saved, or the
    first refusal: promotion_field_required / promotion_field_invalid with the field and the
    reason, attribute_invalid / attribute_unknown. The rules are the portal's form's
    (Promotion.clean: rewards.discounts and vouchers.rules), checked here for any caller."""
    checked = {
        "title": _text(values, "title", required=True),
        "description": _text(values, "description"),
        "discount_type": _text(values, "discount_type"),
        "discount_value": _decimal(values, "discount_value"),
        "product_code": _text(values, "product_code"),
        "category": _text(values, "category"),
        "valid_from": _moment(values, "valid_from"),
        "valid_until": _moment(values, "valid_until"),
        "minimum_spend": _decimal(values, "minimum_spend"),
        "uses_per_voucher": _count(values, "uses_per_voucher", optional=False),
        "uses_per_customer": _count(values, "uses_per_customer", optional=True),
        "is_active": values["is_active"],
    }
    if not isinstance(checked["is_active"], bool):
        raise _field_refusal("is_active", checked["is_active"], "true or false")
    if checked["discount_type"] and checked["discount_type"] not in DiscountType.values:
        raise _field_refusal("discount_type", checked["discount_type"], "not a discount type")
    currency = organization_currency()
    problems = {
        **promotion_errors(**{name: checked[name] for name in PROMOTION_RULE_FIELDS}, currency=currency),
        **discount_errors(
            discount_type=checked["discount_type"],
            value=checked["discount_value"],
            product_code=checked["product_code"],
            category=checked["category"],
            currency=currency,
        ),
    }
    for name in PROMOTION_FIELDS:
        if name in problems:
            raise _field_refusal(name, checked[name], problems[name])
    checked["attributes"] = attributes_clean(
        entity=AttributeDefinition.Entity.PROMOTION, values=values["attributes"]
    )
    return checked


def _audit_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _audit_details(api_key_lookup_id: str, **details: object) -> dict:
    """Who did it when it was not a staff member: the API key."""
    return {**details, "api_key": api_key_lookup_id} if api_key_lookup_id else details


def promotion_create(
    *,
    title: str,
    description: str = "",
    discount_type: str = "",
    discount_value: Decimal | None = None,
    product_code: str = "",
    category: str = "",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    minimum_spend: Decimal | None = None,
    uses_per_voucher: int = 1,
    uses_per_customer: int | None = None,
    is_active: bool = True,
    attributes: dict | None = None,
    actor=None,
    api_key_lookup_id: str = "",
) -> Promotion:
    """A new promotion (by staff, `actor`, or an integration's key), checked as the portal
    checks it, with its audit record. Its vouchers come from generating or importing codes."""
    values = _promotion_values(
        {
            "title": title,
            "description": description,
            "discount_type": discount_type,
            "discount_value": discount_value,
            "product_code": product_code,
            "category": category,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "minimum_spend": minimum_spend,
            "uses_per_voucher": uses_per_voucher,
            "uses_per_customer": uses_per_customer,
            "is_active": is_active,
            "attributes": {} if attributes is None else attributes,
        }
    )
    with transaction.atomic():
        promotion = Promotion.objects.create(**values)
        audit_record(
            actor=actor,
            action="promotions.create",
            target=promotion,
            details=_audit_details(
                api_key_lookup_id, fields={name: _audit_value(value) for name, value in values.items()}
            ),
        )
    return promotion


def promotion_update(
    *, promotion: Promotion, actor=None, api_key_lookup_id: str = "", **changes: object
) -> Promotion:
    """Change some of a promotion's settings (names of PROMOTION_FIELDS); the result is
    checked as a whole, as promotion_create checks a new one. Audited when anything changed.
    Its vouchers follow at once: tills check them by the promotion as it is."""
    unknown = set(changes) - set(PROMOTION_FIELDS)
    if unknown:
        raise TypeError(f"promotion_update() got unknown settings {sorted(unknown)}")
    with transaction.atomic():
        locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
        before = {name: getattr(locked, name) for name in PROMOTION_FIELDS}
        values = _promotion_values({**before, **changes})
        changed = {
            name: [_audit_value(before[name]), _audit_value(value)]
            for name, value in values.items()
            if value != before[name]
        }
        if changed:
            for name in changed:
                setattr(locked, name, values[name])
            locked.save(update_fields=[*changed, "updated_at"])
            audit_record(
                actor=actor,
                action="promotions.update",
                target=locked,
                details=_audit_details(api_key_lookup_id, changes=changed),
            )
    return locked


def promotion_in_use(promotion: Promotion) -> bool:
    """Whether anything refers to the promotion: its vouchers (and through them redemptions
    in customers' histories), a campaign's action, a segment's rule."""
    for relation in Promotion._meta.get_fields(include_hidden=True):
        if relation.auto_created and not relation.concrete:
            rows = relation.related_model._base_manager.filter(**{relation.field.name: promotion})
            if rows.exists():
                return True
    return False


@dataclass(frozen=True)
class PromotionRemoval:
    """What promotion_delete did: deleted the row, or (it was in use) withdrew it."""

    promotion: Promotion
    deleted: bool


def promotion_delete(*, promotion: Promotion, actor=None, api_key_lookup_id: str = "") -> PromotionRemoval:
    """Delete a promotion nothing refers to. One that has vouchers, or that a campaign or a
    segment names, is withdrawn instead (is_active off): tills refuse its vouchers as ended,
    campaigns give none, and its vouchers, their redemptions and the campaigns' records stay.
    Withdrawing one already withdrawn changes nothing. Audited either way."""
    with transaction.atomic():
        # FOR UPDATE, not NO KEY UPDATE: a voucher being inserted for it waits, or is seen.
        locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
        if promotion_in_use(locked):
            if locked.is_active:
                locked.is_active = False
                locked.save(update_fields=["is_active", "updated_at"])
                audit_record(
                    actor=actor,
                    action="promotions.withdraw",
                    target=locked,
                    details=_audit_details(api_key_lookup_id, changes={"is_active": [True, False]}),
                )
            return PromotionRemoval(promotion=locked, deleted=False)
        audit_record(
            actor=actor,
            action="promotions.delete",
            target=locked,
            details=_audit_details(api_key_lookup_id),
        )
        pk = locked.pk
        locked.delete()
        locked.pk = pk
    return PromotionRemoval(promotion=locked, deleted=True)


def voucher_find(code: object) -> Voucher:
    voucher = (
        Voucher.objects.select_related("promotion", "customer")
        .filter(code=voucher_code_normalize(code))
        .first()
    )
    if voucher is None or voucher.status == Voucher.Status.VOID:
        raise errors.VOUCHER_NOT_FOUND()
    return voucher


def is_locked(voucher: Voucher, now: datetime) -> bool:
    return bool(voucher.locked_until and voucher.locked_until > now)


def _standing_status(voucher: Voucher, now: datetime) -> str:
    """The status its uses and its promotion's end give an unvoided voucher."""
    promotion = voucher.promotion
    if voucher.uses >= promotion.uses_per_voucher:
        return Voucher.Status.REDEEMED
    if promotion.valid_until and promotion.valid_until <= now:
        return Voucher.Status.EXPIRED
    return Voucher.Status.ACTIVE


def voucher_refusal(
    voucher: Voucher, *, now: datetime, customer: Customer | None = None, amount: Decimal | None = None
) -> errors.ErrorType | None:
    """Why the voucher cannot be redeemed now, or None."""
    promotion = voucher.promotion
    if voucher.status == Voucher.Status.REDEEMED or voucher.uses >= promotion.uses_per_voucher:
        return errors.VOUCHER_ALREADY_USED
    if not promotion.is_active:
        return errors.VOUCHER_EXPIRED  # withdrawn by staff or an integration: ended for the till
    if promotion.valid_until and promotion.valid_until <= now:
        return errors.VOUCHER_EXPIRED
    if promotion.valid_from and promotion.valid_from > now:
        return errors.VOUCHER_NOT_YET_VALID
    if amount is not None and promotion.minimum_spend is not None and amount < promotion.minimum_spend:
        return errors.MINIMUM_SPEND_NOT_MET
    buyer = customer or voucher.customer
    if buyer is not None and promotion.uses_per_customer is not None:
        used = VoucherRedemption.objects.filter(
            voucher__promotion=promotion, customer=buyer, reversed_at__isnull=True
        ).count()
        if used >= promotion.uses_per_customer:
            return errors.USAGE_LIMIT_REACHED
    return None


def _refuse(voucher: Voucher, *, now: datetime, customer: Customer | None, amount: Decimal | None) -> None:
    refusal = voucher_refusal(voucher, now=now, customer=customer, amount=amount)
    if refusal:
        raise refusal()
    if voucher.customer_id and customer is not None and customer.pk != voucher.customer_id:
        raise errors.VOUCHER_NOT_FOUND()  # someone else's voucher
    # The owner (or the customer who would become it) is blocked; a pool voucher without
    # either is anyone's to use.
    refuse_blocked_customer(customer or voucher.customer)


def voucher_check(
    *, code: object, customer: Customer | None = None, amount: Decimal | None = None
) -> Voucher:
    """The voucher, when it could be used now (with this customer and basket amount, where
    given); else its refusal is raised. Reads only: uses nothing, locks nothing. A lock
    held by another till is not a refusal here (it is temporary; voucher_data shows it)."""
    voucher = voucher_find(code)
    _refuse(voucher, now=timezone.now(), customer=customer, amount=amount)
    return voucher


@dataclass(frozen=True)
class Validation:
    """What validate did: `redemption` is the use it made, None when it only checked."""

    voucher: Voucher
    redemption: VoucherRedemption | None

    @property
    def used(self) -> bool:
        return self.redemption is not None


def voucher_validate(
    *,
    code: object,
    use: bool = True,
    customer: Customer | None = None,
    amount: Decimal | None = None,
    external_id: str = "",
    api_key_lookup_id: str = "",
) -> Validation:
    """The Loyalty Engine's validate: check the voucher and use it (burn it) at once, or with
    use=False (its allowFutureValidation) only check it, changing nothing."""
    if not use:
        return Validation(voucher=voucher_check(code=code, customer=customer, amount=amount), redemption=None)
    redemption = voucher_redeem(
        code=code,
        customer=customer,
        amount=amount,
        external_id=external_id,
        api_key_lookup_id=api_key_lookup_id,
    )
    return Validation(voucher=redemption.voucher, redemption=redemption)


@dataclass(frozen=True)
class Lock:
    release_key: str
    locked_until: datetime


def _locked_voucher(code: object) -> Voucher:
    found = voucher_find(code)
    return (
        Voucher.objects.select_for_update(of=("self",))
        .select_related("promotion", "customer")
        .get(pk=found.pk)
    )


def _lock_buyer_of_limited_promotion(voucher: Voucher, customer: Customer | None) -> None:
    """Two codes of one promotion redeemed at once by one customer each hold only their own
    voucher's lock, and neither would see the other's use before it commits: serialize one
    customer's redemptions where the promotion limits uses per customer. NO KEY UPDATE: it
    excludes another redemption's lock, but not the key-share lock that inserting a row
    referring to the customer takes, so it cannot deadlock with such an insert."""
    buyer = customer or voucher.customer
    if buyer is not None and voucher.promotion.uses_per_customer is not None:
        list(Customer.objects.select_for_update(no_key=True).filter(pk=buyer.pk).values_list("pk", flat=True))


def voucher_lock(*, code: object, ttl_seconds: int | None = None) -> Lock:
    """Reserve the voucher for one till; redeeming it then needs the release key."""
    ttl = ttl_seconds or DEFAULT_LOCK_SECONDS
    if not 1 <= ttl <= MAX_LOCK_SECONDS:
        raise errors.TTL_SECONDS_INVALID(max=MAX_LOCK_SECONDS)
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        voucher = _locked_voucher(code)
        refusal = voucher_refusal(voucher, now=now)
        if refusal:
            raise refusal()
        refuse_blocked_customer(voucher.customer)
        if is_locked(voucher, now):
            raise errors.VOUCHER_LOCKED(locked_until=voucher.locked_until.isoformat())
        release_key = secrets.token_urlsafe(24)
        voucher.release_key_hash = token_hash(release_key)
        voucher.locked_until = now + timedelta(seconds=ttl)
        voucher.save(update_fields=["release_key_hash", "locked_until"])
    return Lock(release_key=release_key, locked_until=voucher.locked_until)


def _check_release_key(voucher: Voucher, release_key: object) -> None:
    if not isinstance(release_key, str) or not constant_time_compare(
        token_hash(release_key), voucher.release_key_hash
    ):
        raise errors.RELEASE_KEY_INVALID()


def voucher_release(*, code: object, release_key: object) -> Voucher:
    with transaction.atomic():
        voucher = _locked_voucher(code)
        if not is_locked(voucher, timezone.now()):
            return voucher  # nothing to release: an expired lock already freed it
        _check_release_key(voucher, release_key)
        voucher.release_key_hash, voucher.locked_until = "", None
        voucher.save(update_fields=["release_key_hash", "locked_until"])
    return voucher


def voucher_redeem(
    *,
    code: object,
    release_key: object = None,
    customer: Customer | None = None,
    amount: Decimal | None = None,
    external_id: str = "",
    api_key_lookup_id: str = "",
) -> VoucherRedemption:
    """Use the voucher once. A locked voucher needs its release key; an unlinked voucher
    redeemed with a customer becomes theirs. Where the promotion has a minimum spend the
    basket's `amount` is required (amount_required), so leaving it out cannot skip it."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        voucher = _locked_voucher(code)
        _lock_buyer_of_limited_promotion(voucher, customer)
        _refuse(voucher, now=now, customer=customer, amount=amount)
        if amount is None and voucher.promotion.minimum_spend is not None:
            raise errors.AMOUNT_REQUIRED(field="amount")
        if is_locked(voucher, now):
            if release_key is None:
                raise errors.VOUCHER_LOCKED(locked_until=voucher.locked_until.isoformat())
            _check_release_key(voucher, release_key)
        # An expired lock freed the voucher: a stale release key no longer matters.
        if customer is not None and voucher.customer_id is None:
            voucher.customer = customer
        voucher.uses += 1
        voucher.status = _standing_status(voucher, now)
        voucher.release_key_hash, voucher.locked_until = "", None
        voucher.save(update_fields=["customer", "uses", "status", "release_key_hash", "locked_until"])
        redemption = VoucherRedemption.objects.create(
            voucher=voucher,
            customer=voucher.customer,
            external_id=external_id,
            api_key_lookup_id=api_key_lookup_id,
        )
        outbox.event_record(
            "voucher.redeemed",
            customer_id=voucher.customer_id,
            data=payloads.voucher_redeemed(
                redemption,
                voucher=voucher,
                customer_code=voucher.customer.customer_code if voucher.customer else None,
            ),
        )
        return redemption


def voucher_reverse(*, code: object) -> Voucher:
    """Undo the latest use: the voucher can be used again."""
    with transaction.atomic(savepoint=False):
        voucher = _locked_voucher(code)
        redemption = (
            voucher.redemptions.filter(reversed_at__isnull=True).order_by("-created_at", "-pk").first()
        )
        if redemption is None:
            raise errors.VOUCHER_NOT_REDEEMED()
        redemption.reversed_at = timezone.now()
        redemption.save(update_fields=["reversed_at"])
        voucher.uses -= 1
        voucher.status = _standing_status(voucher, redemption.reversed_at)
        voucher.save(update_fields=["uses", "status"])
    return voucher


def voucher_void(*, voucher: Voucher, actor, reason: str) -> Voucher:
    """Withdraw an active voucher for good (staff), with its audit record. An expired one
    can be voided too: it would come back if its promotion's end were moved later."""
    reason = staff_reason(reason)
    with transaction.atomic():
        locked = Voucher.objects.select_for_update().get(pk=voucher.pk)
        if locked.status not in (Voucher.Status.ACTIVE, Voucher.Status.EXPIRED):
            raise errors.VOUCHER_NOT_ACTIVE()
        was = locked.status
        locked.status = Voucher.Status.VOID
        locked.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="vouchers.void",
            target=locked,
            details={"reason": reason, "changes": {"status": [was, "void"]}},
        )
    voucher.status = locked.status
    return locked


AGE_CHUNK = 1000


@dataclass(frozen=True)
class Ageing:
    """What one run of vouchers_age changed."""

    expired: int = 0
    reopened: int = 0
    locks_released: int = 0


def _age_chunk(due: QuerySet, size: int, **changes) -> int:
    """Apply `changes` to up to `size` vouchers of `due`, in one transaction. The rows are
    locked first and the conditions of `due` read again on the row as it is then
    (READ COMMITTED's re-check of a locked row), so a till's lock, redemption or reversal
    that committed meanwhile is seen; rows a till holds right now are skipped (SKIP LOCKED)
    and left for the next run, as are those a second run of the job is changing."""
    with transaction.atomic():
        ids = list(
            due.select_for_update(of=("self",), skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0
        return Voucher.objects.filter(pk__in=ids).update(**changes)


def vouchers_due_to_expire(now: datetime) -> QuerySet:
    return Voucher.objects.filter(status=Voucher.Status.ACTIVE, promotion__valid_until__lte=now)


def vouchers_due_to_reopen(now: datetime) -> QuerySet:
    """Expired vouchers whose promotion's end was moved later (or taken away) by staff."""
    return Voucher.objects.filter(status=Voucher.Status.EXPIRED).filter(
        Q(promotion__valid_until__isnull=True) | Q(promotion__valid_until__gt=now)
    )


def voucher_locks_due(now: datetime) -> QuerySet:
    """Locks whose time ran out. A new lock another till takes sets a later locked_until,
    so it is not in here: releasing what is here never undoes a lock still held."""
    return Voucher.objects.filter(locked_until__lte=now)


def vouchers_age_chunk(*, now: datetime, size: int = AGE_CHUNK) -> Ageing:
    """One chunk of each of vouchers_age's changes, each in its own transaction."""
    return Ageing(
        expired=_age_chunk(vouchers_due_to_expire(now), size, status=Voucher.Status.EXPIRED),
        reopened=_age_chunk(vouchers_due_to_reopen(now), size, status=Voucher.Status.ACTIVE),
        locks_released=_age_chunk(voucher_locks_due(now), size, locked_until=None, release_key_hash=""),
    )


def vouchers_age(*, now: datetime | None = None, chunk_size: int = AGE_CHUNK) -> Ageing:
    """The statuses that time changes: active vouchers of a promotion that ended (by `now`)
    become expired (used-up and void ones stay as they are), expired ones whose promotion
    was extended become active again, and locks past their time are released. In chunks
    that each commit, so a second run at once or a run after a crash only finds the rest.
    Tills refuse by the promotion's date and the lock's time either way; this keeps the
    stored statuses, which lists and the portal read, in step with them."""
    now = now or timezone.now()
    total = Ageing()
    while any(astuple(chunk := vouchers_age_chunk(now=now, size=chunk_size))):
        total = Ageing(*(done + more for done, more in zip(astuple(total), astuple(chunk), strict=True)))
    return total


# --- What a voucher takes off a purchase (the Shop API's calculate-discount) -----------------


@dataclass(frozen=True)
class CartLine:
    sku: str
    category: str
    unit_price: Decimal
    quantity: int


def voucher_discount(
    *, code: object, amount: Decimal, currency: str, cart: list[CartLine] | None = None
) -> Decimal:
    """What the voucher's promotion takes off a purchase of `amount`, exact in the currency
    (a percentage rounds half up), never more than the purchase. A discount limited to SKUs
    or a category (matched as earning rules match it, ignoring case), and a free item (its
    cheapest matching line's unit price), are priced from the cart's lines
    (cart_items_required without one; coupon_not_applicable when no line matches). A
    promotion without discount fields is coupon_no_discount: what it gives is not an amount
    the platform knows. Refuses as voucher_check does (minimum spend included); reads only."""
    voucher = voucher_check(code=code, amount=amount)
    promotion = voucher.promotion
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    kind = promotion.discount_type
    if not kind:
        raise errors.COUPON_NO_DISCOUNT()
    skus = {sku.strip() for sku in promotion.product_code.split(",") if sku.strip()}
    category = promotion.category.strip().casefold()
    base = amount
    if skus or category or kind == DiscountType.FREE_ITEM:
        if cart is None:
            raise errors.CART_ITEMS_REQUIRED(field="cart_items")
        lines = [
            line
            for line in cart
            if line.sku in skus or (category and line.category.strip().casefold() == category)
        ]
        if not lines:
            raise errors.COUPON_NOT_APPLICABLE()
        if kind == DiscountType.FREE_ITEM:
            return min(min(line.unit_price for line in lines), amount).quantize(quantum)
        base = min(sum(line.unit_price * line.quantity for line in lines), amount)
    if kind == DiscountType.PERCENT:
        return (base * promotion.discount_value / 100).quantize(quantum, rounding=ROUND_HALF_UP)
    return min(promotion.discount_value, base).quantize(quantum)


def voucher_hold(*, code: object, release_key: str, ttl_seconds: int) -> Lock:
    """voucher_lock with a release key the caller derives, so it keeps none: the same
    refusals, the same expiry. The holder of that key may hold it again (a new deadline);
    anyone else's lock is voucher_locked."""
    if not 1 <= ttl_seconds <= MAX_LOCK_SECONDS:
        raise errors.TTL_SECONDS_INVALID(max=MAX_LOCK_SECONDS)
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        voucher = _locked_voucher(code)
        refusal = voucher_refusal(voucher, now=now)
        if refusal:
            raise refusal()
        refuse_blocked_customer(voucher.customer)
        if is_locked(voucher, now) and not voucher_held_with(voucher, release_key, now):
            raise errors.VOUCHER_LOCKED(locked_until=voucher.locked_until.isoformat())
        voucher.release_key_hash = token_hash(release_key)
        voucher.locked_until = now + timedelta(seconds=ttl_seconds)
        voucher.save(update_fields=["release_key_hash", "locked_until"])
    return Lock(release_key=release_key, locked_until=voucher.locked_until)


def voucher_held_with(voucher: Voucher, release_key: str, now: datetime) -> bool:
    """Locked now, by the holder of this release key."""
    return is_locked(voucher, now) and constant_time_compare(
        token_hash(release_key), voucher.release_key_hash
    )
