"""The `data` of each webhook event (docs/webhooks.md documents every field). Built from what
the recording service already holds, never by reading more: names follow the POS API's
responses (`customer_code`, `card_number`, `external_id`, `shop_id`, money as decimal strings
with their currency, points and stamps as integers, `balance` after the change)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from loyalty_platform.core.money import money_text


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def customer_ref(customer_code: int) -> dict:
    """The customer as every event names them: the code the POS API identifies them by."""
    return {"customer_code": customer_code}


def _customer_details(customer) -> dict:
    # Local import: customers.selectors imports customers.services, which records events.
    from loyalty_platform.customers.selectors import masked_email

    return {
        "customer_code": customer.customer_code,
        "masked_email": masked_email(customer.email),
        "status": customer.status,
    }


# --- customers ---------------------------------------------------------------------------------


def customer_enrolled(customer, *, source: str) -> dict:
    return {
        "customer": _customer_details(customer),
        "source": source,
        "consent_marketing": customer.consent_marketing_at is not None,
        "consent_sms": customer.consent_sms_at is not None,
    }


def customer_updated(customer, *, changed: list[str]) -> dict:
    """`changed`: the fields that changed, among name, phone, birth_date, consent_marketing
    (offers by email), consent_sms (offers by text message), email and status (the last two
    only when the customer's data was erased)."""
    names = {"consent_marketing_at": "consent_marketing", "consent_sms_at": "consent_sms"}
    return {
        "customer": _customer_details(customer),
        "changed": sorted({names.get(field, field) for field in changed}),
        "consent_marketing": customer.consent_marketing_at is not None,
        "consent_sms": customer.consent_sms_at is not None,
    }


def customer_blocked(*, customer_code: int, blocked: bool, card_number: str | None = None) -> dict:
    """A customer's block (card_number None) or one card's; `blocked` false for an unblock."""
    return {
        "customer": customer_ref(customer_code),
        "target": "customer" if card_number is None else "card",
        "card_number": card_number,
        "blocked": blocked,
    }


# --- points and stamps -------------------------------------------------------------------------


def _card_change(
    unit: str,
    *,
    customer_code: int,
    card_number: str,
    amount: int,
    balance: int,
    entry_id: int,
    external_id: str = "",
    shop_id: int | None = None,
) -> dict:
    return {
        "customer": customer_ref(customer_code),
        "card_number": card_number,
        unit: amount,
        "balance": balance,
        "ledger_entry_id": entry_id,
        "external_id": external_id,
        "shop_id": shop_id,
    }


def _campaign_shares(shares) -> list[dict]:
    # As the earn's response renders them (pos_api.output.CampaignShareData).
    rendered = []
    for share in shares:
        item = {"id": share.campaign_id, "name": share.name}
        if share.points is not None:
            item["points"] = share.points
        if share.stamps is not None:
            item["stamps"] = share.stamps
        rendered.append(item)
    return rendered


def points_earned(
    *,
    source: str,
    customer_code: int,
    card_number: str,
    points: int,
    balance: int,
    entry_id: int,
    external_id: str = "",
    shop_id: int | None = None,
    campaigns=(),
    campaign=None,
) -> dict:
    """`source`: till, order, receipt_claim, campaign or referral. `campaigns`: what boosts
    added to a till earn (CampaignShare); `campaign`: the granting campaign."""
    return _earned(
        "points",
        source=source,
        customer_code=customer_code,
        card_number=card_number,
        amount=points,
        balance=balance,
        entry_id=entry_id,
        external_id=external_id,
        shop_id=shop_id,
        campaigns=campaigns,
        campaign=campaign,
    )


def stamps_earned(
    *,
    source: str,
    customer_code: int,
    card_number: str,
    stamps: int,
    balance: int,
    entry_id: int,
    coupons_issued: int,
    external_id: str = "",
    shop_id: int | None = None,
    campaigns=(),
    campaign=None,
) -> dict:
    """`balance`: the stamps on the card after any full card turned into a coupon."""
    data = _earned(
        "stamps",
        source=source,
        customer_code=customer_code,
        card_number=card_number,
        amount=stamps,
        balance=balance,
        entry_id=entry_id,
        external_id=external_id,
        shop_id=shop_id,
        campaigns=campaigns,
        campaign=campaign,
    )
    data["coupons_issued"] = coupons_issued
    return data


def _earned(unit: str, *, source: str, campaigns, campaign, **change) -> dict:
    data = _card_change(unit, **change)
    data["source"] = source
    if campaigns:
        data["campaigns"] = _campaign_shares(campaigns)
    if campaign is not None:
        data["campaign"] = campaign_ref(campaign)
    return data


def points_redeemed(
    *,
    source: str,
    customer_code: int,
    card_number: str,
    points: int,
    balance: int,
    entry_id: int,
    external_id: str = "",
    shop_id: int | None = None,
) -> dict:
    """`source`: till (POST /webhook/redeem) or order (points paid with)."""
    data = _card_change(
        "points",
        customer_code=customer_code,
        card_number=card_number,
        amount=points,
        balance=balance,
        entry_id=entry_id,
        external_id=external_id,
        shop_id=shop_id,
    )
    data["source"] = source
    return data


def points_adjusted(
    *, customer_code: int, card_number: str, points: int, balance: int, entry_id: int, reason: str
) -> dict:
    """A staff correction: `points` is signed."""
    data = _card_change(
        "points",
        customer_code=customer_code,
        card_number=card_number,
        amount=points,
        balance=balance,
        entry_id=entry_id,
    )
    data["reason"] = reason
    return data


def points_expired(*, customer_code: int, card_number: str, points: int, balance: int, entry_id: int) -> dict:
    return {
        "customer": customer_ref(customer_code),
        "card_number": card_number,
        "points": points,
        "balance": balance,
        "ledger_entry_id": entry_id,
    }


def tier_changed(*, customer_code: int, tier, previous_tier, qualifying_points: int) -> dict:
    """`tier`, `previous_tier`: {name, points_multiplier} as the order response shows a tier,
    or null (no tier)."""
    return {
        "customer": customer_ref(customer_code),
        "tier": _tier(tier),
        "previous_tier": _tier(previous_tier),
        "qualifying_points": qualifying_points,
    }


def _tier(tier) -> dict | None:
    if tier is None:
        return None
    return {"name": tier.name, "points_multiplier": str(tier.points_multiplier)}


def transaction_reversed(reversal, *, customer_code: int, card_number: str) -> dict:
    """From programs.reversals.Reversal, the fields of the reversal's response."""
    record = reversal.record
    return {
        "customer": customer_ref(customer_code),
        "reversed": reversal.reversed,
        "kind": reversal.kind,
        "card_type": reversal.card_type,
        "card_number": card_number,
        "external_id": record.external_id,
        "reason": record.reason,
        "stamps": reversal.stamps,
        "points": reversal.points,
        "points_unrecovered": reversal.points_unrecovered,
        "stamps_unrecovered": reversal.stamps_unrecovered,
        "coupon_already_used": reversal.coupon_already_used,
        "coupons_voided": [str(coupon.pk) for coupon in reversal.coupons_voided],
        "ledger_entry_ids": [entry.pk for entry in reversal.entries],
    }


# --- coupons, vouchers, rewards ----------------------------------------------------------------


def campaign_ref(campaign) -> dict:
    return {"id": campaign.pk, "name": campaign.name}


def coupon_issued(coupon, *, customer_code: int, card_number: str) -> dict:
    """A coupon for a full stamp card (an earn or a campaign's stamps)."""
    return {
        "customer": customer_ref(customer_code),
        "source": "stamp_card",
        "card_number": card_number,
        "coupon": {
            "id": str(coupon.pk),
            "name": coupon.name,
            "qr_token": coupon.qr_token,
            "issued_at": _when(coupon.issued_at),
            "expires_at": _when(coupon.expires_at),
        },
        "ledger_entry_id": coupon.issuing_entry_id,
    }


def voucher_granted(*, customer_code: int, code: str, promotion, campaign) -> dict:
    """A campaign's voucher, recorded as coupon.issued."""
    return {
        "customer": customer_ref(customer_code),
        "source": "campaign",
        "campaign": campaign_ref(campaign),
        "voucher": {"code": code, "promotion": {"id": promotion.pk, "title": promotion.title}},
    }


def coupon_redeemed(coupon, *, customer_code: int) -> dict:
    return {
        "customer": customer_ref(customer_code),
        "coupon": {
            "id": str(coupon.pk),
            "name": coupon.name,
            "status": coupon.status,
            "qr_token": coupon.qr_token,
            "issued_at": _when(coupon.issued_at),
            "redeemed_at": _when(coupon.redeemed_at),
        },
        "external_id": coupon.redeemed_external_id,
    }


def voucher_redeemed(redemption, *, voucher, customer_code: int | None) -> dict:
    promotion = voucher.promotion
    return {
        "customer": None if customer_code is None else customer_ref(customer_code),
        "voucher": {
            "code": voucher.code,
            "status": voucher.status,
            "uses": voucher.uses,
            "promotion": {"id": promotion.pk, "title": promotion.title},
        },
        "redemption_id": redemption.pk,
        "external_id": redemption.external_id,
    }


def reward_received(
    *,
    customer_code: int,
    reception_id,
    reward,
    points: int,
    status: str,
    balance: int | None,
    entry_id: int | None,
    external_id: str = "",
    campaign=None,
    source: str = "till",
) -> dict:
    """Points spent on a reward at a till (source till) or by the customer in their profile
    (source profile), or a campaign's gift (source campaign, 0 points, no balance change:
    `balance` and `ledger_entry_id` null)."""
    data = {
        "customer": customer_ref(customer_code),
        "source": source if campaign is None else "campaign",
        "id": str(reception_id),
        "reward": {"id": reward.pk, "name": reward.name},
        "points": points,
        "status": status,
        "balance": balance,
        "ledger_entry_id": entry_id,
        "external_id": external_id,
    }
    if campaign is not None:
        data["campaign"] = campaign_ref(campaign)
    return data


# --- orders ------------------------------------------------------------------------------------


def order_created(order, *, customer_code: int | None, balance: int | None) -> dict:
    return {
        "customer": None if customer_code is None else customer_ref(customer_code),
        "id": str(order.pk),
        "external_id": order.external_id,
        "shop_id": order.shop_id,
        "currency": order.currency,
        "total": money_text(Decimal(order.total), order.currency),
        "status": order.status,
        "points_earned": order.points_earned,
        "visit_bonus_points": order.visit_bonus_points,
        "paid_with_points": order.paid_with_points,
        "point_balance": balance,
    }


def order_returned(order_return, *, order, customer_code: int | None, balance: int | None) -> dict:
    return {
        "customer": None if customer_code is None else customer_ref(customer_code),
        "id": str(order_return.pk),
        "order_external_id": order.external_id,
        "external_id": order_return.external_id,
        "shop_id": order.shop_id,
        "is_cancellation": order_return.is_cancellation,
        "order_status": order.status,
        "points_due": order_return.points_due,
        "points_taken": order_return.points_taken,
        "points_unrecovered": order_return.points_unrecovered,
        "paid_points_refunded": order_return.paid_points_refunded,
        "point_balance": balance,
    }


# --- stored value ------------------------------------------------------------------------------


def money_transaction(entry, *, currency: str, customer_code: int | None = None, giftcard=None) -> dict:
    """One money entry of a giftcard (`giftcard` given) or of a customer's prepaid credit.
    `kind`: load, pay, reversal or adjust; `amount` signed."""
    data = {
        "customer": None if customer_code is None else customer_ref(customer_code),
        "transaction_id": str(entry.pk),
        "kind": entry.cause,
        "amount": money_text(Decimal(entry.amount), currency),
        "balance": money_text(Decimal(entry.balance_after), currency),
        "currency": currency,
        "external_id": entry.external_id,
        "reversed_transaction_id": None if entry.reversed_entry_id is None else str(entry.reversed_entry_id),
    }
    if giftcard is not None:
        data["giftcard"] = {"code": giftcard.code, "kind": giftcard.kind}
    return data
