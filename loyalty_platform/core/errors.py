"""Every refusal the platform can answer, as a typed error: its machine code, its HTTP status,
the extra fields its body may carry, and (for people's pages) a sentence saying what happened.

Services raise them (`raise errors.CUSTOMER_NOT_FOUND()`); the API's exception handler, the
OpenAPI schema, the profile's messages and the contract tests all read this one catalog, so a
mistyped code fails at import or in a test instead of answering a silent 422.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


# eq=False: one object per error, hashed by identity. A generated __hash__ would hash the
# lazily translated message, so a dict keyed by errors built in one language missed them in another.
@dataclass(frozen=True, eq=False)
class ErrorType:
    code: str
    status: int
    description: str
    extra: frozenset[str] = field(default_factory=frozenset)
    message: str = ""  # what a person reads on a page; empty where only machines see it

    def __call__(self, **extra: object) -> "DomainError":
        return DomainError(self, **extra)


class DomainError(Exception):
    """A refused use case. `error` says which; `extra` adds fields to the error body
    (challenge_id, remaining_attempts, retry_after...). Only fields the type declares may be
    added; `field` names the refused input."""

    def __init__(self, error: ErrorType, **extra: object) -> None:
        if not isinstance(error, ErrorType):
            raise TypeError(f"DomainError needs an ErrorType from core.errors, not {error!r}")
        undeclared = set(extra) - error.extra
        if undeclared:
            raise TypeError(f"{error.code} does not carry {sorted(undeclared)}")
        super().__init__(error.code)
        self.error = error
        self.code = error.code
        self.status = error.status
        self.extra = extra


CATALOG: dict[str, ErrorType] = {}


def _define(code: str, status: int, description: str, *extra: str, message: str = "") -> ErrorType:
    if code in CATALOG:
        raise ValueError(f"error code {code} defined twice")
    error = ErrorType(
        code=code, status=status, description=description, extra=frozenset(extra), message=message
    )
    CATALOG[code] = error
    return error


def field_error(name: str, kind: str) -> ErrorType:
    """The refusal of one input field: `<name>_required` when it is missing, `<name>_invalid`
    otherwise (a code the catalog defines for that field keeps its definition)."""
    if kind not in ("required", "invalid"):
        raise ValueError(kind)
    code = f"{name}_{kind}"
    known = CATALOG.get(code)
    if known is not None:
        return known
    what = "is missing" if kind == "required" else "has a wrong type, format or range"
    return ErrorType(code=code, status=422, description=f"`{name}` {what}.", extra=frozenset({"field"}))


# --- Requests as a whole -------------------------------------------------------------------
INVALID_CHARACTERS = _define(
    "invalid_characters", 400, "The URL, a header or the body holds control characters."
)
INVALID_JSON = _define("invalid_json", 400, "The body is not JSON.")
REQUEST_TOO_LARGE = _define("request_too_large", 413, "The body is larger than the API accepts.")
UNSUPPORTED_MEDIA_TYPE = _define("unsupported_media_type", 415, "The body is not application/json.")
METHOD_NOT_ALLOWED = _define("method_not_allowed", 405, "This path does not answer this HTTP method.")
NOT_ACCEPTABLE = _define("not_acceptable", 406, "The Accept header excludes JSON.")
NOT_FOUND = _define("not_found", 404, "No such path, or a path segment of the wrong form.")
FORBIDDEN = _define("forbidden", 403, "This key may not do this.")
INVALID_BODY = _define("invalid_body", 422, "The body is not a JSON object.")
INVALID_REQUEST = _define("invalid_request", 422, "The request was refused as a whole.")
UNKNOWN_FIELD = _define("unknown_field", 422, "The body has a field this endpoint does not know.", "field")
SERVICE_UNAVAILABLE = _define(
    "service_unavailable", 503, "The database or Redis is unavailable; retry after Retry-After seconds."
)
# The next three strings are the published contract's, spaces included.
INVALID_API_KEY = _define("invalid or missing API key", 401, "No key, or a key that is not active here.")
TOO_MANY_REQUESTS = _define(
    "too many requests", 429, "Over the key's rate limit; retry after Retry-After seconds.", "retry_after"
)
CODE_OR_QR_REQUIRED = _define(
    "code or qr is required", 400, "Neither `code` nor `qr` (nor an extension) was given."
)
SUBSCRIPTION_REQUIRED = _define("subscription_required", 402, "The organization's subscription has ended.")
ORGANIZATION_SUSPENDED = _define(
    "organization_suspended",
    403,
    "The platform operator suspended the organization (or its deletion is scheduled); nothing "
    "can be read or changed through the API until it is reactivated.",
    message=_("This loyalty program is paused and takes no new members at the moment. Please ask the staff."),
)
PLAN_LIMIT_REACHED = _define(
    "plan_limit_reached",
    402,
    "The organization's plan allows no more of these (`limit`: customers, api_keys, shops or staff; "
    "`allowed`: how many the plan allows).",
    "limit",
    "allowed",
)

# --- Idempotency and PIN verification ------------------------------------------------------
IDEMPOTENCY_KEY_REUSED = _define(
    "idempotency_key_reused", 422, "This external_id was used before with a different body."
)
REQUEST_IN_PROGRESS = _define("request_in_progress", 409, "A call with this external_id is still running.")
EXTERNAL_ID_REQUIRED = _define(
    "external_id_required", 422, "`external_id`, the idempotency key, is missing.", "field"
)
PIN_REQUIRED = _define(
    "pin_required",
    412,
    "The customer must read out the PIN just sent to their profile; send it as verification_pin.",
    "challenge_id",
    "remaining_attempts",
    "expires_at",
    "pin_length",
)
PIN_INVALID = _define("pin_invalid", 422, "Wrong PIN.", "challenge_id", "remaining_attempts")
PIN_EXPIRED = _define("pin_expired", 422, "The challenge's lifetime is over.", "challenge_id")
PIN_ATTEMPTS_EXCEEDED = _define(
    "pin_attempts_exceeded", 429, "The third wrong PIN: the challenge is dead.", "challenge_id"
)
PIN_LOCKED = _define(
    "pin_locked", 423, "Too many challenges or wrong PINs: the customer is locked for a while.", "retry_after"
)
PIN_ALREADY_USED = _define("pin_already_used", 409, "The challenge was spent by another call.")
MANUAL_CODE_DISABLED = _define(
    "manual_code_disabled", 422, "The Strict preset refuses typed-in customer codes."
)
INVALID_QR = _define("invalid_qr", 422, "The QR is tampered with, expired, or from another organization.")

# --- Customers ------------------------------------------------------------------------------
CUSTOMER_NOT_FOUND = _define("customer_not_found", 404, "No customer with this code in this organization.")
CUSTOMER_BLOCKED = _define("customer_blocked", 422, "Staff blocked this customer; nothing changed.")
CARD_BLOCKED = _define("card_blocked", 422, "Staff blocked this card; nothing changed.")
CUSTOMER_CODE_INVALID = _define("customer_code_invalid", 422, "A customer code is six digits.", "field")
CUSTOMER_CODE_REQUIRED = _define("customer_code_required", 422, "`customer_code` is missing.", "field")
EMAIL_REQUIRED = _define("email_required", 422, "`email` is missing.")
INVALID_EMAIL = _define("invalid_email", 422, "`email` is not an email address.")
PHONE_INVALID = _define(
    "phone_invalid",
    422,
    "`phone` is not a phone number.",
    "field",
    message=_("This is not a phone number: write it with its country code, e.g. +31 6 1234 5678."),
)
PHONE_OR_EMAIL_REQUIRED = _define("phone_or_email_required", 422, "Give `phone` or `email`.")
CONSENT_TERMS_REQUIRED = _define("consent_terms_required", 422, "The customer must accept the terms.")
CONSENT_PRIVACY_REQUIRED = _define(
    "consent_privacy_required", 422, "The customer must accept the privacy notice."
)
ATTRIBUTE_INVALID = _define(
    "attribute_invalid", 422, "An attribute's value does not fit its definition.", "attribute", "reason"
)
ATTRIBUTE_UNKNOWN = _define("attribute_unknown", 422, "No attribute with this key is defined.", "attribute")
ATTRIBUTES_INVALID = _define("attributes_invalid", 422, "`attributes` is not an object of keys and values.")

# --- Points and stamps ------------------------------------------------------------------------
PROGRAM_NOT_FOUND = _define(
    "program_not_found",
    404,
    "The organization has no active program of this card type.",
    "card_type",
    message=_("This shop has no points program at the moment."),
)
AMOUNT_INVALID = _define(
    "amount_invalid",
    422,
    "`amount` is not a positive number in range; `max` is the most stamps one earn takes (a card's worth).",
    "max",
    "field",
)
AMOUNT_REQUIRED = _define(
    "amount_required", 422, "`amount` is needed here (a minimum spend applies).", "field"
)
CARD_TYPE_INVALID = _define("card_type_invalid", 422, '`card_type` is "point" or "stamp".', "field")
INSUFFICIENT_BALANCE = _define("insufficient_balance", 422, "Not enough balance; nothing was taken.")
BELOW_MINIMUM = _define("below_minimum", 422, "Less than the program's minimum redemption.", "min_points")
STAMPS_EXCEED_CARD = _define(
    "stamps_exceed_card", 422, "More stamps than the card can hold.", "stamps_per_card"
)
DELTA_INVALID = _define("delta_invalid", 422, "An adjustment is a whole non-zero number.", "field")
REASON_REQUIRED = _define("reason_required", 422, "Staff changes need a reason.")
BALANCE_LIMIT_EXCEEDED = _define("balance_limit_exceeded", 422, "The balance would pass its maximum.")
TRANSACTION_NOT_FOUND = _define("transaction_not_found", 404, "No transaction with this id here.")
TRANSACTION_ALREADY_REVERSED = _define(
    "transaction_already_reversed", 409, "This transaction was reversed before."
)
REVERSAL_NOT_REVERSIBLE = _define("reversal_not_reversible", 422, "A reversal cannot itself be reversed.")
TRANSACTION_AMBIGUOUS = _define(
    "transaction_ambiguous",
    422,
    'The external_id names both an earn and a redeem; say which with `kind` ("earn" or "redeem").',
)
KIND_INVALID = _define("kind_invalid", 422, '`kind` is "earn" or "redeem".', "field")
REASON_INVALID = _define(
    "reason_invalid", 422, "`reason` is text of at most 255 characters, on one line.", "field"
)

# --- Coupons and rewards ----------------------------------------------------------------------
COUPON_NOT_FOUND = _define("coupon_not_found", 404, "No coupon with this token here.")
COUPON_ALREADY_USED = _define("coupon_already_used", 409, "The coupon was redeemed before.")
COUPON_EXPIRED = _define("coupon_expired", 410, "The coupon has expired.")
REWARD_NOT_FOUND = _define("reward_not_found", 404, "No active reward with this id.")
PRE_REDEEM_NOT_ALLOWED = _define("pre_redeem_not_allowed", 422, "This reward cannot be pre-redeemed.")
RECEPTION_NOT_FOUND = _define("reception_not_found", 404, "No reward reception with this id.")
RECEPTION_NOT_REVERSIBLE = _define(
    "reception_not_reversible", 409, "The reception was reversed or collected."
)
RECEPTION_NOT_COLLECTABLE = _define(
    "reception_not_collectable", 409, "The reception is not waiting to be collected."
)
RECEPTION_NOT_COLLECTED = _define("reception_not_collected", 409, "The reception was not collected.")

# --- Vouchers ------------------------------------------------------------------------------------
VOUCHER_NOT_FOUND = _define("voucher_not_found", 404, "No voucher with this code here.")
VOUCHER_CODE_INVALID = _define(
    "voucher_code_invalid", 422, "A voucher code of the wrong form.", "voucher_code", "field"
)
VOUCHER_CODE_DUPLICATE = _define(
    "voucher_code_duplicate", 422, "A voucher with this code exists.", "voucher_code"
)
VOUCHER_ALREADY_USED = _define("voucher_already_used", 409, "The voucher has no uses left.")
VOUCHER_LOCKED = _define("voucher_locked", 409, "Another till holds the voucher.", "locked_until")
VOUCHER_NOT_REDEEMED = _define("voucher_not_redeemed", 409, "The voucher has no use to reverse.")
VOUCHER_EXPIRED = _define("voucher_expired", 410, "The promotion has ended.")
VOUCHER_NOT_YET_VALID = _define("voucher_not_yet_valid", 422, "The promotion has not started.")
MINIMUM_SPEND_NOT_MET = _define(
    "minimum_spend_not_met", 422, "The basket is below the promotion's minimum spend."
)
USAGE_LIMIT_REACHED = _define(
    "usage_limit_reached", 422, "The customer used this promotion as often as allowed."
)
RELEASE_KEY_INVALID = _define("release_key_invalid", 422, "Not the key that locked this voucher.", "field")
TTL_SECONDS_INVALID = _define("ttl_seconds_invalid", 422, "A lock lasts 1 to 3600 seconds.", "max", "field")

# --- Giftcards and prepaid --------------------------------------------------------------------
GIFTCARD_NOT_FOUND = _define("giftcard_not_found", 404, "No giftcard with this code here.")
GIFTCARD_CODE_INVALID = _define("giftcard_code_invalid", 422, "A giftcard code of the wrong form.", "field")
GIFTCARD_BLOCKED = _define("giftcard_blocked", 409, "The giftcard is blocked.")
GIFTCARD_EXPIRED = _define("giftcard_expired", 410, "The giftcard has expired.")
CURRENCY_MISMATCH = _define("currency_mismatch", 422, "Not the organization's currency.", "currency")
RECIPIENT_EMAIL_INVALID = _define(
    "recipient_email_invalid", 422, "`recipient_email` is not an email address.", "field"
)
RECIPIENT_NAME_INVALID = _define(
    "recipient_name_invalid", 422, "`recipient_name` holds control characters.", "field"
)
SENDER_NAME_INVALID = _define("sender_name_invalid", 422, "`sender_name` holds control characters.", "field")
MESSAGE_INVALID = _define("message_invalid", 422, "`message` holds control characters.", "field")

# --- Orders and returns -------------------------------------------------------------------------
ORDER_NOT_FOUND = _define(
    "order_not_found",
    404,
    "No order with this external_id here.",
    message=_("This order is not known yet. Try again in a few minutes."),
)
ORDER_EXISTS = _define("order_exists", 409, "An order with this external_id exists with other content.")
ORDER_ALREADY_RETURNED = _define("order_already_returned", 409, "Everything in the order was returned.")
RETURN_EXISTS = _define("return_exists", 409, "A return with this external_id exists.")
TOTAL_REQUIRED = _define("total_required", 422, "`total` is missing.", "field")
TOTAL_INVALID = _define("total_invalid", 422, "`total` is not an amount in the currency.", "field")
LINES_REQUIRED = _define("lines_required", 422, "`lines` is missing.", "field")
LINES_INVALID = _define(
    "lines_invalid",
    422,
    "A line is refused; `line` (its index) and `line_field` say which.",
    "line",
    "line_field",
    "field",
)
SKU_NOT_IN_ORDER = _define("sku_not_in_order", 422, "A returned sku is not in the order.", "line", "sku")
RETURN_EXCEEDS_ORDER = _define(
    "return_exceeds_order", 422, "More returned than bought.", "line", "sku", "returnable"
)
SHOP_ID_INVALID = _define("shop_id_invalid", 422, "No shop with this id.", "field")
COUNT_INVALID = _define("count_invalid", 422, "A count is a whole number in range.", "max", "field")
CLAIM_INVALID = _define(
    "claim_invalid", 400, "A receipt link of the wrong form.", message=_("This receipt link is not valid.")
)
CLAIM_EXPIRED = _define(
    "claim_expired", 410, "The receipt link has expired.", message=_("This receipt link has expired.")
)
CLAIM_USED = _define(
    "claim_used",
    409,
    "The receipt's points were added to a card before.",
    message=_("The points of this receipt were already added to a card."),
)

# --- Identification: QR sessions, invitations, sign-in links ----------------------------------
QR_SESSION_NOT_FOUND = _define(
    "qr_session_not_found", 404, "No QR session with this id.", message=_("This code is not known here.")
)
QR_SESSION_USED = _define(
    "qr_session_used",
    409,
    "Another customer used this session.",
    message=_("This code was already used by someone else."),
)
QR_SESSION_EXPIRED = _define(
    "qr_session_expired",
    410,
    "The session has expired.",
    message=_("This code has expired. Ask the cashier for a new one."),
)
INVITATION_NOT_FOUND = _define(
    "invitation_not_found",
    404,
    "No invitation with this id.",
    message=_("This invitation is not known here."),
)
INVITATION_USED = _define(
    "invitation_used",
    409,
    "The invitation was accepted before.",
    message=_("This invitation was already used."),
)
INVITATION_EXPIRED = _define(
    "invitation_expired", 410, "The invitation has expired.", message=_("This invitation has expired.")
)
JOIN_LINK_INVALID = _define(
    "join_link_invalid",
    404,
    "No such link to finish joining here (a wrong token, or another organization's).",
    message=_("This link to finish joining is not valid."),
)
JOIN_LINK_EXPIRED = _define(
    "join_link_expired",
    410,
    "The link to finish joining has expired.",
    message=_("This link has expired. Ask at the till for a new one."),
)
JOIN_LINK_USED = _define(
    "join_link_used",
    410,
    "The link was used before, or the customer finished joining by another one.",
    message=_("You have already finished joining: you are a member."),
)
PHONE_REQUIRED = _define(
    "phone_required",
    422,
    "A member without an email is known by their phone, which cannot be removed.",
    "field",
    message=_("A member without an email is known by their phone number: it cannot be removed."),
)
PHONE_TAKEN = _define(
    "phone_taken",
    409,
    "Another member without an email has this phone number.",
    "field",
    message=_("Another member without an email has this phone number."),
)
EMAIL_TAKEN = _define(
    "email_taken",
    409,
    "Another member has this email.",
    message=_("Another member has this email address. Leave it empty, or use another one."),
)
LOGIN_LINK_INVALID = _define(
    "login_link_invalid",
    400,
    "A sign-in link of the wrong form.",
    message=_("This sign-in link is not valid."),
)
LOGIN_LINK_EXPIRED = _define(
    "login_link_expired",
    410,
    "The sign-in link has expired.",
    message=_("This sign-in link has expired. Ask for a new one."),
)
LOGIN_LINK_USED = _define(
    "login_link_used",
    410,
    "The sign-in link was used before.",
    message=_("This sign-in link was already used. Ask for a new one."),
)

# --- Staff portal: blocks, voids, customer import ---------------------------------------------
ALREADY_BLOCKED = _define("already_blocked", 409, "The customer or card is blocked already; nothing changed.")
NOT_BLOCKED = _define("not_blocked", 409, "The customer or card is not blocked; nothing changed.")
CUSTOMER_ERASED = _define("customer_erased", 409, "The customer's data was erased; nothing changed.")
VOUCHER_NOT_ACTIVE = _define("voucher_not_active", 409, "Only an active voucher can be voided.")
IMPORT_FILE_TOO_LARGE = _define(
    "import_file_too_large", 413, "The CSV file is larger than the import accepts."
)
IMPORT_NOT_UTF8 = _define("import_not_utf8", 400, "The CSV file is not UTF-8 text.")
IMPORT_MALFORMED = _define("import_malformed", 400, "The file is not readable as CSV.", "line")
IMPORT_EMPTY = _define("import_empty", 400, "The CSV file has no header or no rows.")
IMPORT_TOO_MANY_ROWS = _define("import_too_many_rows", 413, "The CSV file has more rows than allowed.", "max")
IMPORT_UNKNOWN_COLUMNS = _define(
    "import_unknown_columns", 400, "The header names columns the import does not know.", "columns"
)
IMPORT_EMAIL_COLUMN_REQUIRED = _define(
    "import_email_column_required", 400, "The header has no `email` column."
)
IMPORT_TOKEN_INVALID = _define(
    "import_token_invalid", 400, "The preview expired or belongs to another organization or user."
)

# --- The customer's own data (docs/decisions/0055) -----------------------------------------------
NAME_INVALID = _define(
    "name_invalid",
    422,
    "`name` is longer than 150 characters.",
    "field",
    message=_("Your name can be at most 150 characters long."),
)
LANGUAGE_INVALID = _define(
    "language_invalid",
    422,
    "`language` is not one of the languages offered.",
    "field",
    message=_("Please choose one of the languages offered."),
)
CONSENT_CHANNEL_INVALID = _define(
    "consent_channel_invalid",
    422,
    "The consent's channel is email or sms, given or withdrawn.",
    "field",
    message=_("This form is not valid any more. Please reload the page and try again."),
)
CONSENT_SMS_PHONE_REQUIRED = _define(
    "consent_sms_phone_required",
    422,
    "Offers by text message need the customer's phone number.",
    "field",
    message=_("Add your phone number first: we need it to text you offers."),
)
PHONE_UNCHANGED = _define(
    "phone_unchanged",
    422,
    "The number is the customer's own already.",
    "field",
    message=_("This is your phone number already."),
)
PHONE_CHANGE_NOT_FOUND = _define(
    "phone_change_not_found",
    404,
    "No change of phone number waits for a code.",
    "field",
    message=_("No new phone number waits for a code. Please enter the new number again."),
)
PHONE_CODE_INVALID = _define(
    "phone_code_invalid",
    422,
    "The code is not the one texted.",
    "field",
    "remaining_attempts",
    message=_("This is not the code we texted. Please check it and try again."),
)
PHONE_CODE_EXPIRED = _define(
    "phone_code_expired",
    410,
    "The code expired or was entered wrong too often.",
    "field",
    message=_("This code has expired. Please enter the new number again to get a new code."),
)
PHONE_CODE_TOO_MANY = _define(
    "phone_code_too_many",
    429,
    "Too many codes were texted for this customer or number.",
    "field",
    "retry_after",
    message=_("We texted enough codes for now. Please try again later."),
)

# --- Campaigns, segments, referrals ------------------------------------------------------------
BIRTH_DATE_INVALID = _define(
    "birth_date_invalid",
    422,
    "birth_date is not a date (YYYY-MM-DD) of a living person.",
    "field",
    message=_("Enter your birth date as a real date in the past."),
)
SEGMENT_RULE_INVALID = _define(
    "segment_rule_invalid", 422, "The segment rule lacks a value its kind needs.", "field", "kind"
)
CAMPAIGN_STATE_INVALID = _define(
    "campaign_state_invalid", 409, "The campaign's status does not allow this; nothing changed.", "status"
)
REFERRAL_NOT_FOUND = _define(
    "referral_not_found",
    404,
    "No referral link with this code here.",
    message=_("This invitation link is not valid."),
)
REFERRAL_SELF = _define(
    "referral_self",
    422,
    "A customer cannot refer themselves.",
    message=_("You cannot use your own invitation link."),
)
REFERRAL_FRIEND_TAKEN = _define(
    "referral_friend_taken",
    409,
    "This customer was referred before or is already a member.",
    message=_("This invitation is only for people who are not members yet."),
)
UNSUBSCRIBE_LINK_INVALID = _define(
    "unsubscribe_link_invalid",
    400,
    "The unsubscribe link is damaged or belongs to another organization.",
    message=_("This unsubscribe link is not valid."),
)
SEGMENT_LIST_COLUMN_REQUIRED = _define(
    "segment_list_column_required", 400, "The header has neither an `email` nor a `customer_code` column."
)
SEGMENT_LIST_MODE_INVALID = _define(
    "segment_list_mode_invalid", 400, "The list import is either `replace` or `add`."
)
CAMPAIGN_SCHEDULE_INVALID = _define(
    "campaign_schedule_invalid",
    422,
    "The campaign's schedule or trigger settings do not hold together (see field).",
    "field",
)
CAMPAIGN_BALANCES_FORBIDDEN = _define(
    "campaign_balances_forbidden",
    403,
    "Points and stamps for everyone in an audience: launching or resuming such a campaign needs "
    "the right to change cards' balances (owners and managers).",
    message=_("Only owners and managers may start a campaign that gives points or stamps."),
)
CAMPAIGN_ACTION_INVALID = _define(
    "campaign_action_invalid",
    422,
    "A campaign action lacks a value its kind needs, or does not fit the campaign's trigger.",
    "field",
    "kind",
)

# --- Outgoing webhooks (staff portal) -----------------------------------------------------------
WEBHOOK_URL_REFUSED = _define(
    "webhook_url_refused",
    422,
    "The endpoint's URL cannot be used; `reason` says why: url_invalid, https_required, "
    "host_unresolvable or address_refused (a private, loopback, link-local or reserved address).",
    "reason",
)
WEBHOOK_EVENT_TYPES_REQUIRED = _define(
    "webhook_event_types_required", 422, "An endpoint receives at least one event type, or all of them."
)
WEBHOOK_EVENT_TYPE_UNKNOWN = _define(
    "webhook_event_type_unknown", 422, "No event type of this name exists.", "event_type"
)
WEBHOOK_DESCRIPTION_INVALID = _define(
    "webhook_description_invalid",
    422,
    "The description is longer than 200 characters or holds control characters.",
)
WEBHOOK_OVERLAP_INVALID = _define(
    "webhook_overlap_invalid", 422, "The overlap of a secret rotation is not one of those offered.", "allowed"
)
WEBHOOK_ENDPOINT_DISABLED = _define(
    "webhook_endpoint_disabled",
    409,
    "The endpoint is disabled: enable it before sending to it; nothing changed.",
)
WEBHOOK_DELIVERY_IN_PROGRESS = _define(
    "webhook_delivery_in_progress",
    409,
    "The delivery is being sent right now; try again once it is recorded.",
)

# --- The Loyalty.lt Shop API: the base (sections per area follow) ------------------------------
NOT_SUPPORTED = _define(
    "not_supported",
    501,
    "This platform does not offer this call (the XML product import: it would fetch a URL the "
    "caller names); see the Shop API documentation.",
)
SHOP_NOT_FOUND = _define("shop_not_found", 404, "No active shop of this organization has this id.")

# --- The Loyalty.lt Shop API: sign-in by QR and the app link ----------------------------------
QR_LOGIN_EXPIRED = _define(
    "qr_login_expired",
    410,
    "The QR sign-in session has expired.",
    message=_("This sign-in code has expired. Start the sign-in again on the shop's screen."),
)
QR_LOGIN_CLOSED = _define(
    "qr_login_closed",
    409,
    "The QR sign-in session was declined, or confirmed before the decline arrived.",
    message=_("This sign-in is over. Start it again on the shop's screen if you still want to sign in."),
)
# --- The Loyalty.lt Shop API: coupons ----------------------------------------------------------
COUPON_PRODUCT_CHOICE_NOT_OFFERED = _define(
    "coupon_product_choice_not_offered",
    422,
    "Coupons here have no choice of product: leave selected_product_id out; nothing changed.",
    "field",
)
CART_ITEMS_REQUIRED = _define(
    "cart_items_required",
    422,
    "The discount is on certain products or a category, or a free item: send cart_items to price it.",
    "field",
)
COUPON_NOT_APPLICABLE = _define(
    "coupon_not_applicable", 422, "The coupon's discount applies to no item of this cart."
)
COUPON_NO_DISCOUNT = _define(
    "coupon_no_discount",
    422,
    "The coupon gives no amount the platform can compute: a stamp card's reward item, or a "
    "promotion without discount fields (its custom attributes may tell the till more).",
)
COUPON_HELD_ELSEWHERE = _define(
    "coupon_held_elsewhere",
    409,
    "Another till or integration holds this coupon for a checkout in progress, until `locked_until`.",
    "locked_until",
)
# --- The Loyalty.lt Shop API: loyalty cards and transactions --------------------------------------
LOYALTY_CARD_NOT_FOUND = _define(
    "loyalty_card_not_found",
    404,
    "No loyalty card with this id or number here: a card of the organization's active point program "
    "(a look-up of a customer by card also takes their stamp card).",
)
CARD_IDENTIFIER_REQUIRED = _define(
    "card_identifier_required",
    422,
    "Name the card: `card_id` or `card_number` (or `user_id`, where the call takes it).",
)
USER_REQUIRED = _define(
    "user_required", 422, "Name the customer: `user_id`, `user_email` or `loyalty_card_id`."
)
CUSTOMER_MISMATCH = _define(
    "customer_mismatch",
    422,
    "`user_id`, `user_email` and `loyalty_card_id` name different customers; nothing changed.",
)
ORDER_TOTAL_REQUIRED = _define(
    "order_total_required", 422, "A purchase gives `order_total`, or exactly `points`.", "field"
)
ORDER_TOTAL_INVALID = _define(
    "order_total_invalid",
    422,
    "`order_total` is not an amount in the organization's currency: a number or numeric string, "
    "not negative, with at most the currency's decimals, below 1,000,000,000.",
    "field",
)
POINTS_DISCOUNT_AMOUNT_INVALID = _define(
    "points_discount_amount_invalid",
    422,
    "`points_discount_amount` is not what `points_redeemed` are worth by the program's redemption "
    "rule (`expected`), or comes without `points_redeemed`.",
    "field",
    "expected",
)
META_DATA_INVALID = _define(
    "meta_data_invalid",
    422,
    "`meta_data` is a JSON object of at most `max_bytes` bytes (as compact JSON).",
    "field",
    "max_bytes",
)
FIELD_NOT_ALLOWED = _define(
    "field_not_allowed",
    422,
    "The field does not go with this transaction (`field`): `points`, `points_redeemed` or "
    "`points_discount_amount` on a cancellation or refund, `points` with `cart_items`, "
    "`cart_items` on the refund of a purchase recorded without them.",
    "field",
)
# --- The Loyalty.lt Shop API: games ------------------------------------------------------------
GAME_NOT_FOUND = _define(
    "game_not_found", 404, "No game with this id: a game is the organization's active stamp program."
)
CARD_NOT_FOUND = _define("card_not_found", 404, "No card of this organization has this id.")
GAME_NOT_COMPLETED = _define(
    "game_not_completed",
    409,
    "The customer has no full stamp card of this game and no reward coupon of one waiting; "
    "nothing was issued.",
)
GAME_PROGRESS_EMPTY = _define(
    "game_progress_empty", 409, "The customer's stamp card of this game holds no stamps to take off."
)
STAMPS_COUNT_INVALID = _define(
    "stamps_count_invalid",
    422,
    "`stamps_count` is a whole number from 1 to the game's stamps per card (`max`).",
    "field",
    "max",
)
# --- The Loyalty.lt Shop API: offers (promotions) and product categories ------------------------
# A promotion's settings refused by vouchers.services (any caller; the Shop API names its own field).
PROMOTION_FIELD_REQUIRED = _define(
    "promotion_field_required", 422, "A setting the promotion needs is missing.", "field", "reason"
)
PROMOTION_FIELD_INVALID = _define(
    "promotion_field_invalid",
    422,
    "A setting of the promotion is of the wrong type or breaks a rule; `reason` says which.",
    "field",
    "reason",
)
OFFER_NOT_FOUND = _define("offer_not_found", 404, "No offer (promotion) with this id in this organization.")
OFFER_TYPE_NOT_SUPPORTED = _define(
    "offer_type_not_supported",
    422,
    "Offers here are promotions whose vouchers tills redeem: a discount or a free item. Points "
    "multipliers are campaigns (set up in the portal); cashback is not offered. Nothing was saved.",
    "type",
)
OFFER_FIELD_NOT_SUPPORTED = _define(
    "offer_field_not_supported",
    422,
    "Promotions here have no such setting (an image, a featured flag, a points cost or multiplier, "
    "a total usage limit, a maximum discount, terms); nothing was saved.",
    "field",
)

# --- Wallet passes (loyalty_platform.wallet) -----------------------------------------------
WALLET_NOT_CONFIGURED = _define(
    "wallet_not_configured",
    404,
    "The platform's operator has not configured this wallet (Apple Wallet or Google Wallet), "
    "so the profile offers no such pass.",
    message=_("Adding the card to this wallet is not available here."),
)

# --- Terms, privacy and deletion with money left (docs/decisions/0056) ------------------------
CUSTOMER_HAS_MONEY = _define(
    "customer_has_money",
    409,
    "The customer has prepaid credit or giftcard money left; nothing was erased. `money_left` "
    "lists each balance (kind: prepaid or giftcard, amount, currency). Spend it or refund it "
    "first.",
    "money_left",
    message=_("There is money left on this account, so it cannot be deleted yet."),
)
LEGAL_TEXT_UNCHANGED = _define(
    "legal_text_unchanged", 409, "The text is the same as the current version; nothing was published."
)
