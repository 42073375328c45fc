"""What the till tells the cashier for each error code the POS API answers. Codes without a
sentence of their own here fall back to the catalog's description (core/errors.py), so every
code the API can answer has a message."""

from django.utils.translation import gettext_lazy as _

from loyalty_platform.core.errors import CATALOG

CASHIER_MESSAGES = {
    "invalid or missing API key": _("The till's key is no longer valid. Reload the page to start again."),
    "too many requests": _("Too many requests from this till. Wait a moment and try again."),
    "subscription_required": _("The organization's subscription has ended: nothing can be changed."),
    "plan_limit_reached": _(
        "The organization's plan has no room for more customers: the owner can ask for a larger plan."
    ),
    "service_unavailable": _("The service is busy or down. Try again in a moment."),
    "customer_not_found": _("No customer with this code."),
    "customer_code_invalid": _("A customer code has six digits."),
    "customer_code_required": _("Enter the customer's code."),
    "code or qr is required": _("Enter the customer's code or scan their QR."),
    "invalid_qr": _("This QR is not valid here (expired, damaged or from another shop)."),
    "manual_code_disabled": _("Typed codes are switched off here: scan the customer's QR."),
    "customer_blocked": _("This customer is blocked: nothing was changed."),
    "card_blocked": _("This card is blocked: nothing was changed."),
    "program_not_found": _("There is no active program of this kind."),
    "amount_invalid": _("Enter a positive amount."),
    "amount_required": _("Enter the basket's amount."),
    "value_invalid": _("Enter a whole number greater than zero."),
    "value_required": _("Enter how many points to redeem."),
    "insufficient_balance": _("Not enough balance: nothing was taken."),
    "below_minimum": _("Below the minimum redemption: nothing was taken."),
    "stamps_exceed_card": _("More stamps than the card holds."),
    "balance_limit_exceeded": _("The balance would pass its maximum."),
    "pin_required": _("Ask the customer for the PIN shown on their phone."),
    "pin_invalid": _("Wrong PIN."),
    "pin_expired": _("The PIN expired. Submit again for a new one."),
    "pin_attempts_exceeded": _("Three wrong PINs: submit again for a new one."),
    "pin_locked": _("Too many PIN attempts: this customer is locked for a while."),
    "pin_already_used": _("This PIN was used by another call."),
    "idempotency_key_reused": _("This sale was already sent with other details. Start a new sale."),
    "request_in_progress": _("This sale is still being processed. Wait a moment."),
    "coupon_not_found": _("No coupon with this code."),
    "coupon_already_used": _("This coupon was used before."),
    "coupon_expired": _("This coupon has expired."),
    "voucher_not_found": _("No voucher with this code."),
    "voucher_code_invalid": _("This is not a voucher code."),
    "voucher_already_used": _("This voucher has no uses left."),
    "voucher_locked": _("Another till holds this voucher right now."),
    "voucher_expired": _("This voucher's promotion has ended."),
    "voucher_not_yet_valid": _("This voucher's promotion has not started yet."),
    "minimum_spend_not_met": _("The basket is below the voucher's minimum spend."),
    "usage_limit_reached": _("The customer used this promotion as often as allowed."),
    "giftcard_not_found": _("No giftcard with this code."),
    "giftcard_code_invalid": _("This is not a giftcard code."),
    "giftcard_blocked": _("This giftcard is blocked."),
    "giftcard_expired": _("This giftcard has expired."),
    "currency_mismatch": _("Not the shop's currency."),
    "shop_id_invalid": _("This shop is not known."),
    "not_found": _("The till asked for something that does not exist."),
    "forbidden": _("This till may not do this."),
    # The till's own: the portal session behind the till's key ended.
    "session_ended": _("Your staff session has ended. Sign in again to use the till."),
}

UNKNOWN_ERROR = _("The till could not do this (%(code)s).")
NETWORK_ERROR = _(
    "No answer from the server. Check the connection and press Retry: the sale is not sent twice."
)


def till_messages() -> dict[str, str]:
    """Every code of the catalog, with the cashier's sentence or else the catalog's description
    (written for developers; the customer-facing `message`s speak to the wrong person here)."""
    messages = {code: str(error.description) for code, error in CATALOG.items()}
    messages.update({code: str(text) for code, text in CASHIER_MESSAGES.items()})
    return messages
