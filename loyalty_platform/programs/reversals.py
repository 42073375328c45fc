"""Reversing a POS earn or redeem: a void or refund at the till takes back what the call did
(contract: "Reversing an earn or a redeem"; docs/decisions/0018-reversals.md).

Each entry the original call posted gets its opposite, linked through `reversed_entry`. A
stamp earn that filled the card also voids its coupon while it is unused; points or stamps
already spent are taken as far as the balance allows and the rest is reported as
unrecovered, as order returns do. One TransactionReversal row per original, unique on the
original's first entry, makes a second reversal impossible even for tills racing.
Campaign boosts are part of an earn's entry, so its reversal takes them back with the rest;
their CampaignBoost rows record it."""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_platform.campaigns.boosts import CampaignShare, boosts_reverse
from loyalty_platform.core import errors
from loyalty_platform.core.text import has_control_characters
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.coupons.services import coupon_void
from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Card, LedgerEntry, Program, TransactionReversal
from loyalty_platform.programs.selectors import card_balances
from loyalty_platform.programs.services import balance_updated_publish, ledger_post
from loyalty_platform.tiers.services import customer_tier_recalculate
from loyalty_platform.verification.services import pin_challenge_spend
from loyalty_platform.webhooks import outbox, payloads

Kind = TransactionReversal.Kind
Cause = LedgerEntry.Cause
MAX_EXTERNAL_ID = 128
MAX_REASON = 255


@dataclass(frozen=True)
class ReversalOriginal:
    """The earn or redeem a path's external_id names: its first ledger entry (card, program
    and customer attached) and, for an earn that filled the card, its reward entries."""

    kind: str
    external_id: str
    entry: LedgerEntry
    reward_entries: tuple[LedgerEntry, ...]

    @property
    def customer(self) -> Customer:
        return self.entry.card.customer


@dataclass(frozen=True)
class Reversal:
    """What a reversal did, for the API to render."""

    record: TransactionReversal
    reversed: str  # the original call's external_id
    kind: str  # "earn" or "redeem"
    card_type: str  # "point" or "stamp"
    entries: tuple[LedgerEntry, ...]  # the opposite entries, in the order posted
    stamps: int  # balances after
    points: int
    points_unrecovered: int
    stamps_unrecovered: int
    coupons_voided: tuple[Coupon, ...]
    coupon_already_used: bool
    campaigns: tuple[CampaignShare, ...] = ()  # what the earn's campaign boosts gave back


def _original_entries(kind: str, external_id: str):
    entries = LedgerEntry.objects.filter(external_id=external_id).exclude(
        card__customer__status=Customer.Status.DELETED
    )
    if kind == Kind.EARN:
        return entries.filter(cause=Cause.EARN)
    # Points spent on a reward or an order are redeem entries too, but those calls have their
    # own reversal (reward receptions) or return (orders).
    return entries.filter(cause=Cause.REDEEM, reward_reception__isnull=True).exclude(
        note=f"paid order {external_id}"[:255]
    )


def _newest_original(kind: str, external_id: str) -> LedgerEntry | None:
    # An external_id may come back once its idempotency record is purged: the newest call is meant.
    return (
        _original_entries(kind, external_id)
        .select_related("card__program", "card__customer")
        .order_by("-pk")
        .first()
    )


def _reward_entries(earn: LedgerEntry) -> tuple[LedgerEntry, ...]:
    """The reward entries a stamp earn posted right after its own entry on the card (the
    card's row lock keeps one call's entries together in the card's history)."""
    if earn.card.program.kind != Program.Kind.STAMP:
        return ()
    later = LedgerEntry.objects.filter(card_id=earn.card_id, pk__gt=earn.pk).order_by("pk")
    rewards = later.filter(cause=Cause.REWARD, external_id=earn.external_id)
    other = later.exclude(cause=Cause.REWARD, external_id=earn.external_id).values_list("pk", flat=True)
    first_other = other.first()
    if first_other is not None:
        rewards = rewards.filter(pk__lt=first_other)
    return tuple(rewards)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in Kind.values:
        raise errors.KIND_INVALID(field="kind")


def reversal_original(*, original_external_id: str, kind: str | None = None) -> ReversalOriginal:
    """The earn or redeem that reversing `original_external_id` would undo, after every
    refusal that needs no PIN: the API calls it before the PIN step (the customer to ask is
    the original's), and the service calls it again in its transaction.

    Without `kind`, an external_id naming both an earn and a redeem is refused
    (transaction_ambiguous): idempotency is per endpoint, so both may exist."""
    _check_kind(kind)
    if not original_external_id or len(original_external_id) > MAX_EXTERNAL_ID:
        raise errors.TRANSACTION_NOT_FOUND()
    kinds = [kind] if kind else [Kind.EARN, Kind.REDEEM]
    found = {k: entry for k in kinds if (entry := _newest_original(k, original_external_id)) is not None}
    if len(found) > 1:
        raise errors.TRANSACTION_AMBIGUOUS()
    if not found:
        if LedgerEntry.objects.filter(external_id=original_external_id, cause=Cause.REVERSAL).exists():
            raise errors.REVERSAL_NOT_REVERSIBLE()
        raise errors.TRANSACTION_NOT_FOUND()
    found_kind, entry = next(iter(found.items()))
    if TransactionReversal.objects.filter(original_entry=entry).exists():
        raise errors.TRANSACTION_ALREADY_REVERSED()
    if entry.card.customer.status == Customer.Status.BLOCKED:
        raise errors.CUSTOMER_BLOCKED()
    if entry.card.status == Card.Status.BLOCKED:
        raise errors.CARD_BLOCKED()
    return ReversalOriginal(
        kind=found_kind,
        external_id=original_external_id,
        entry=entry,
        reward_entries=_reward_entries(entry) if found_kind == Kind.EARN else (),
    )


def _clean_reason(reason: str) -> str:
    if not isinstance(reason, str) or has_control_characters(reason):
        raise errors.REASON_INVALID(field="reason")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise errors.REASON_INVALID(field="reason")
    return reason


def _coupon_unused(coupon: Coupon) -> bool:
    return coupon.status == Coupon.Status.ACTIVE and (
        coupon.expires_at is None or coupon.expires_at > timezone.now()
    )


def loyalty_transaction_reverse(
    *,
    original_external_id: str,
    external_id: str,
    kind: str | None = None,
    reason: str = "",
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
) -> Reversal:
    """Undo the earn or redeem named by `original_external_id`, once. `external_id` is the
    reversal's own (stored on its entries); `pin_challenge_id` is the verified challenge of
    the preset's PIN step, spent here. Refusals change nothing."""
    if not external_id or not isinstance(external_id, str) or len(external_id) > MAX_EXTERNAL_ID:
        raise errors.field_error("external_id", "required" if not external_id else "invalid")(
            field="external_id"
        )
    reason = _clean_reason(reason)
    _check_kind(kind)
    # No savepoint when nested: a refusal aborts the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        original = reversal_original(original_external_id=original_external_id, kind=kind)
        pin_challenge_spend(challenge_id=pin_challenge_id)
        card = Card.objects.select_for_update().get(pk=original.entry.card_id)
        card.program = original.entry.card.program
        customer = original.customer
        # Checked again under the card's lock: a racing reversal has committed by now.
        if card.status == Card.Status.BLOCKED:
            raise errors.CARD_BLOCKED()
        if TransactionReversal.objects.filter(original_entry=original.entry).exists():
            raise errors.TRANSACTION_ALREADY_REVERSED()

        # Newest first: the coupons of a filled card, then the call's own entry.
        coupons = {
            coupon.issuing_entry_id: coupon
            for coupon in Coupon.objects.select_for_update()
            .filter(issuing_entry__in=original.reward_entries)
            .order_by("pk")
        }
        rewards_back = [
            (reward, coupons.get(reward.pk))
            for reward in reversed(original.reward_entries)
            if reward.pk not in coupons or _coupon_unused(coupons[reward.pk])
        ]
        coupon_already_used = any(c.status == Coupon.Status.REDEEMED for c in coupons.values())

        due = -original.entry.delta  # an earn is taken back (< 0), a redeem given back (> 0)
        available = card.balance - sum(reward.delta for reward, _ in rewards_back)
        takes_only_what_is_there = due < 0 and not card.program.allow_negative_balance
        delta = -min(-due, max(available, 0)) if takes_only_what_is_there else due
        unrecovered = delta - due

        try:
            with transaction.atomic():
                record = TransactionReversal.objects.create(
                    kind=original.kind,
                    card=card,
                    original_entry=original.entry,
                    original_external_id=original.external_id,
                    external_id=external_id,
                    reason=reason,
                    unrecovered=unrecovered,
                    coupons_voided=sum(1 for _, coupon in rewards_back if coupon is not None),
                    coupon_already_used=coupon_already_used,
                    api_key_lookup_id=api_key_lookup_id,
                )
        except IntegrityError:
            raise errors.TRANSACTION_ALREADY_REVERSED() from None

        note = f"reversal of {original.kind} {original.external_id}" + (f": {reason}" if reason else "")
        posted = []
        voided = []
        for reward, coupon in rewards_back:
            if coupon is not None:
                coupon_void(coupon_id=coupon.pk)
                coupon.status = Coupon.Status.VOID
                voided.append(coupon)
            posted.append(
                ledger_post(
                    card=card,
                    delta=-reward.delta,
                    cause=Cause.REVERSAL,
                    external_id=external_id,
                    api_key_lookup_id=api_key_lookup_id,
                    reversed_entry=reward,
                    note=note[:255],
                )
            )
        posted.append(
            ledger_post(
                card=card,
                delta=delta,
                cause=Cause.REVERSAL,
                external_id=external_id,
                api_key_lookup_id=api_key_lookup_id,
                reversed_entry=original.entry,
                note=note[:255],
            )
        )
        if original.kind == Kind.EARN and card.program.kind == Program.Kind.POINT:
            customer_tier_recalculate(customer_id=customer.pk)
        campaigns = boosts_reverse(ledger_entry_id=original.entry.pk) if original.kind == Kind.EARN else ()

        balances = card_balances(customer.pk)
        # The reversed card's program may no longer be the active one of its kind.
        balances.setdefault(card.program.kind, card.balance)
        stamps, points = balances.get(Program.Kind.STAMP, 0), balances.get(Program.Kind.POINT, 0)
        balance_updated_publish(customer_id=customer.pk, balances=balances)
        is_points = card.program.kind == Program.Kind.POINT
        reversal = Reversal(
            record=record,
            reversed=original.external_id,
            kind=original.kind,
            card_type=card.program.kind,
            entries=tuple(posted),
            stamps=stamps,
            points=points,
            points_unrecovered=unrecovered if is_points else 0,
            stamps_unrecovered=0 if is_points else unrecovered,
            coupons_voided=tuple(voided),
            coupon_already_used=coupon_already_used,
            campaigns=campaigns,
        )
        outbox.event_record(
            "transaction.reversed",
            customer_id=customer.pk,
            data=payloads.transaction_reversed(
                reversal, customer_code=customer.customer_code, card_number=card.card_number
            ),
        )
        return reversal


def purchase_reversal_originals(
    *, original_external_id: str, customer_id: int
) -> tuple[ReversalOriginal, ...]:
    """The redeem and the earn that a purchase (customer_purchase) posted under
    `original_external_id` and that are not reversed yet, after every refusal that needs no
    PIN: transaction_not_found when it posted neither for this customer,
    transaction_already_reversed when both are reversed, customer_blocked, card_blocked."""
    originals, reversed_before = [], False
    for kind in (Kind.REDEEM, Kind.EARN):  # points paid with come back before earned ones go
        try:
            original = reversal_original(original_external_id=original_external_id, kind=kind)
        except errors.DomainError as refusal:
            if refusal.error is errors.TRANSACTION_ALREADY_REVERSED:
                reversed_before = True
                continue
            # A kind the purchase did not post (its own reversal may share the external_id).
            if refusal.error in (errors.TRANSACTION_NOT_FOUND, errors.REVERSAL_NOT_REVERSIBLE):
                continue
            raise
        if original.customer.pk != customer_id:
            raise errors.TRANSACTION_NOT_FOUND()
        originals.append(original)
    if not originals:
        raise errors.TRANSACTION_ALREADY_REVERSED() if reversed_before else errors.TRANSACTION_NOT_FOUND()
    return tuple(originals)


def purchase_reverse(
    *,
    original_external_id: str,
    external_id: str,
    customer_id: int,
    reason: str = "",
    api_key_lookup_id: str = "",
    pin_challenge_id: uuid.UUID | None = None,
) -> tuple[Reversal, ...]:
    """Undo what is left of a purchase: its redeem (the points paid with come back first, so
    points since spent are taken from them) and its earn, each reversed once as
    loyalty_transaction_reverse does, in one transaction. The verified PIN challenge is spent
    by the first reversal."""
    with transaction.atomic(savepoint=False):
        reversals = []
        for original in purchase_reversal_originals(
            original_external_id=original_external_id, customer_id=customer_id
        ):
            reversals.append(
                loyalty_transaction_reverse(
                    original_external_id=original_external_id,
                    external_id=external_id,
                    kind=original.kind,
                    reason=reason,
                    api_key_lookup_id=api_key_lookup_id,
                    pin_challenge_id=pin_challenge_id,
                )
            )
            pin_challenge_id = None
        return tuple(reversals)
