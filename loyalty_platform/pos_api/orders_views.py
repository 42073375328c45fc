"""Orders and returns at the POS: the basket's points, a preview, returns against lines."""

from dataclasses import dataclass
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import MAX_AMOUNT, currency_exponent, exact_decimal
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.orders.claims import receipt_claim_url
from loyalty_platform.orders.earning import LineInput
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.orders.services import (
    order_create,
    order_create_check,
    order_pin_action_for,
    order_preview,
    order_return,
    point_program_or_404,
)
from loyalty_platform.pos_api import pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView
from loyalty_platform.pos_api.output import (
    IsoDateTimeField,
    MoneyField,
    OmitNoneSerializer,
    QuantityField,
    UnitPriceField,
    campaign_shares_field,
)
from loyalty_platform.profile.selectors import points_worth
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import card_balances
from loyalty_platform.shops.models import Shop
from loyalty_platform.tiers.selectors import tier_data

MAX_LINES = 500
MAX_QUANTITY = Decimal("1000000")
LINE_FIELDS = frozenset({"sku", "name", "category", "quantity", "unit_price"})
RETURN_LINE_FIELDS = frozenset({"sku", "quantity"})
MAX_POINTS = 2**53 - 1  # the largest integer every JSON client reads exactly


def _lines_schema(fields: frozenset[str]) -> dict:
    """OpenAPI schema of the order or return lines that parse_order_lines/parse_return_lines accept."""
    properties = {
        "sku": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"},
        "name": {"type": "string", "maxLength": 200},
        "category": {"type": "string", "maxLength": 100},
        "quantity": {"type": "string", "pattern": r"^([1-9]\d{0,5}(\.\d{1,3})?|0\.\d{0,2}[1-9])$"},
        "unit_price": s.MONEY,
    }
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LINES,
        "items": {
            "type": "object",
            "properties": {name: schema for name, schema in properties.items() if name in fields},
            "required": ["sku", "quantity"]
            if "unit_price" not in fields
            else ["sku", "quantity", "unit_price"],
            "additionalProperties": False,
        },
    }


class OrderFieldsMixin(s.VerificationFieldsMixin, s.PosRequestSerializer):
    customer_code = s.CustomerCodeField(required=False)
    shop_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    currency = s.StrictCharField(
        max_length=3, min_length=3, help_text="The organization's currency (ISO 4217)."
    )
    total = s.RawValueField(
        schema=s.MONEY, help_text="The amount paid for the basket (decimal string or number)."
    )
    lines = s.RawValueField(
        schema=_lines_schema(LINE_FIELDS),
        help_text="[{sku, name, category, quantity, unit_price}], 1 to 500 lines.",
    )
    paid_with_points = s.StrictIntegerField(min_value=0, max_value=MAX_POINTS, required=False, default=0)


class OrderRequest(OrderFieldsMixin):
    external_id = s.StrictCharField(max_length=128, help_text="The order's id at the POS; idempotency key.")


class OrderPreviewRequest(OrderFieldsMixin):
    external_id = s.StrictCharField(max_length=128, required=False, help_text="Ignored.")
    points = s.StrictIntegerField(
        min_value=0,
        max_value=MAX_POINTS,
        required=False,
        help_text="Also say what this many points are worth.",
    )


class ReturnRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128)
    lines = s.RawValueField(
        schema=_lines_schema(RETURN_LINE_FIELDS),
        required=False,
        help_text="[{sku, quantity}]; leave out to return everything (cancellation).",
    )


def _decimal(value: object, *, places: int, positive: bool, maximum: Decimal) -> Decimal | None:
    """Not negative (nor zero when `positive`), else core.money.exact_decimal's rules."""
    number = exact_decimal(value, places=places, maximum=maximum)
    if number is None or number < 0 or (positive and number == 0):
        return None
    return number


def _text(line: dict, field: str, max_length: int, *, required: bool) -> str | None:
    value = line.get(field, None if required else "")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > max_length or (required and not value.strip()):
        return None
    return value.strip()


def _line_error(index: int, line_field: str | None = None) -> errors.DomainError:
    if line_field is None:
        return errors.LINES_INVALID(field="lines", line=index)
    return errors.LINES_INVALID(field="lines", line=index, line_field=line_field)


def _parse_line(index: int, line: object, fields: frozenset[str]) -> dict:
    """One line's fields, each checked on its own so that a refusal names it."""
    if not isinstance(line, dict):
        raise _line_error(index)
    unknown = sorted(set(line) - fields)
    if unknown:
        raise _line_error(index, unknown[0])
    parsed = {"sku": _text(line, "sku", 64, required=True)}
    if "name" in fields:
        parsed["name"] = _text(line, "name", 200, required=False)
        parsed["category"] = _text(line, "category", 100, required=False)
    parsed["quantity"] = _decimal(line.get("quantity"), places=3, positive=True, maximum=MAX_QUANTITY)
    if "unit_price" in fields:
        parsed["unit_price"] = _decimal(line.get("unit_price"), places=4, positive=False, maximum=MAX_AMOUNT)
    for name, value in parsed.items():
        if value is None:
            raise _line_error(index, name)
    return parsed


def _line_list(raw: object) -> list:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        raise errors.LINES_INVALID(field="lines")
    return raw


def parse_order_lines(raw: object) -> list[LineInput]:
    if raw is None:
        raise errors.LINES_REQUIRED(field="lines")
    lines = [LineInput(**_parse_line(index, line, LINE_FIELDS)) for index, line in enumerate(_line_list(raw))]
    if sum((line.amount for line in lines), Decimal(0)) >= MAX_AMOUNT:
        raise errors.LINES_INVALID(field="lines")
    return lines


def parse_return_lines(raw: object) -> list[tuple[str, Decimal]] | None:
    if raw is None:
        return None
    parsed = [_parse_line(index, line, RETURN_LINE_FIELDS) for index, line in enumerate(_line_list(raw))]
    return [(line["sku"], line["quantity"]) for line in parsed]


def _total(raw: object, currency: str) -> Decimal:
    if raw is None:
        raise errors.TOTAL_REQUIRED(field="total")
    total = _decimal(raw, places=currency_exponent(currency), positive=False, maximum=MAX_AMOUNT)
    if total is None:
        raise errors.TOTAL_INVALID(field="total")
    return total


def _shop_id(call: Call) -> int | None:
    shop_id = call.data.get("shop_id") or call.api_key.shop_id
    if shop_id is not None and not Shop.objects.filter(pk=shop_id).exists():
        raise errors.SHOP_ID_INVALID()
    return shop_id


class TierData(serializers.Serializer):
    name = serializers.CharField()
    points_multiplier = serializers.CharField()

    def to_representation(self, tier) -> dict | None:
        return tier_data(tier)


class OrderLineData(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    quantity = QuantityField()
    unit_price = UnitPriceField(currency_source="order.currency")
    points_earned = serializers.IntegerField()
    returned_quantity = QuantityField()
    points_returned = serializers.IntegerField()


class OrderData(OmitNoneSerializer):
    """An order and, when just recorded, the customer's balance and tier and the claim link."""

    id = serializers.CharField(source="order.pk")
    external_id = serializers.CharField(source="order.external_id")
    customer_code = serializers.IntegerField(source="order.customer.customer_code", allow_null=True)
    shop_id = serializers.IntegerField(source="order.shop_id", allow_null=True)
    currency = serializers.CharField(source="order.currency")
    total = MoneyField(source="order.total", currency_source="order.currency")
    status = serializers.ChoiceField(source="order.status", choices=Order.Status.values)
    points_earned = serializers.IntegerField(source="order.points_earned")
    visit_bonus_points = serializers.IntegerField(source="order.visit_bonus_points")
    paid_with_points = serializers.IntegerField(source="order.paid_with_points")
    points_returned = serializers.IntegerField(source="order.points_returned")
    points_unrecovered = serializers.IntegerField(source="order.points_unrecovered")
    point_balance = serializers.IntegerField(allow_null=True, help_text="Null without a customer.")
    tier = TierData(allow_null=True)
    lines = serializers.SerializerMethodField()
    claim_url = serializers.URLField(allow_null=True, help_text="Only for orders without a customer.")
    claim_expires_at = serializers.SerializerMethodField()
    created_at = IsoDateTimeField(source="order.created_at")
    campaigns = campaign_shares_field()
    omit_when_none = ("campaigns",)

    @extend_schema_field(OrderLineData(many=True))
    def get_lines(self, recorded) -> list:
        return OrderLineData(recorded.order.lines.order_by("position"), many=True, context=self.context).data

    def get_claim_expires_at(self, recorded) -> str | None:
        return recorded.order.claim_expires_at.isoformat() if recorded.claim_url else None


@dataclass(frozen=True)
class RecordedOrder:
    order: Order
    point_balance: int | None
    tier: object = None
    claim_url: str | None = None
    campaigns: tuple = ()  # what each campaign added, when just recorded


def order_check(call: Call) -> None:
    data = call.data
    call.extra["total"] = _total(data["total"], data["currency"])
    call.extra["lines"] = parse_order_lines(data["lines"])
    call.extra["shop_id"] = _shop_id(call)
    order_create_check(
        organization=call.organization,
        customer=call.customer,
        currency=data["currency"],
        paid_with_points=data["paid_with_points"],
        read_card=call.pin_step,
    )


def order_record(call: Call) -> RecordedOrder:
    data = call.data
    outcome = order_create(
        organization=call.organization,
        external_id=data["external_id"],
        customer=call.customer,
        shop_id=call.extra["shop_id"],
        currency=data["currency"],
        total=call.extra["total"],
        lines=call.extra["lines"],
        paid_with_points=data["paid_with_points"],
        api_key_lookup_id=call.api_key_lookup_id,
        pin_challenge_id=call.pin_challenge_id,
    )
    order = outcome.order
    claim_url = None
    if call.customer is None:
        claim_url = receipt_claim_url(
            organization=call.organization,
            base_url=organization_base_url(),
            external_id=order.external_id,
            expires_at=order.claim_expires_at,
        )
    return RecordedOrder(
        order=order,
        point_balance=outcome.point_balance,
        tier=outcome.tier,
        claim_url=claim_url,
        campaigns=outcome.campaigns,
    )


def order_pin_action(call: Call) -> str | None:
    return order_pin_action_for(
        names_customer="customer_code" in call.data, paid_with_points=call.data["paid_with_points"]
    )


ORDER_INPUT_ERRORS = (
    errors.BALANCE_LIMIT_EXCEEDED,
    errors.CURRENCY_MISMATCH,
    errors.TOTAL_REQUIRED,
    errors.TOTAL_INVALID,
    errors.LINES_REQUIRED,
    errors.LINES_INVALID,
    errors.SHOP_ID_INVALID,
    errors.CUSTOMER_CODE_REQUIRED,
    errors.INSUFFICIENT_BALANCE,
    errors.BELOW_MINIMUM,
    errors.CUSTOMER_NOT_FOUND,
    errors.PROGRAM_NOT_FOUND,
)
ORDER_EXAMPLE = {
    "id": "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9",
    "external_id": "pos-2026-000731",
    "customer_code": 482193,
    "shop_id": None,
    "currency": "EUR",
    "total": "11.00",
    "status": "completed",
    "points_earned": 11,
    "visit_bonus_points": 0,
    "paid_with_points": 0,
    "points_returned": 0,
    "points_unrecovered": 0,
    "point_balance": 143,
    "tier": None,
    "lines": [
        {
            "sku": "LATTE",
            "name": "Latte",
            "category": "coffee",
            "quantity": "2",
            "unit_price": "3.50",
            "points_earned": 7,
            "returned_quantity": "0",
            "points_returned": 0,
        },
        {
            "sku": "CROISSANT",
            "name": "Croissant",
            "category": "bakery",
            "quantity": "1",
            "unit_price": "4.00",
            "points_earned": 4,
            "returned_quantity": "0",
            "points_returned": 0,
        },
    ],
    "claim_url": None,
    "claim_expires_at": None,
    "created_at": "2026-12-01T10:15:02.381004+00:00",
}
ORDER_REQUEST_EXAMPLE = {
    "external_id": "pos-2026-000731",
    "customer_code": 482193,
    "currency": "EUR",
    "total": "11.00",
    "lines": [
        {"sku": "LATTE", "name": "Latte", "category": "coffee", "quantity": "2", "unit_price": "3.50"},
        {
            "sku": "CROISSANT",
            "name": "Croissant",
            "category": "bakery",
            "quantity": "1",
            "unit_price": "4.00",
        },
    ],
}


class OrdersView(PosApiView):
    post = Command(
        "order_create",
        OrderRequest,
        OrderData,
        order_record,
        once="orders",
        pin_action=order_pin_action,
        pin_summary=pin_summaries.order_summary,
        check=order_check,
        errors=(errors.ORDER_EXISTS, *ORDER_INPUT_ERRORS, errors.CUSTOMER_BLOCKED, errors.CARD_BLOCKED),
    )


class PreviewLineData(serializers.Serializer):
    sku = serializers.CharField(source="line.sku")
    quantity = QuantityField(source="line.quantity")
    points_earned = serializers.IntegerField(source="points")
    excluded = serializers.BooleanField()


class PointsWorthData(serializers.Serializer):
    points = serializers.IntegerField()
    amount = serializers.CharField()


class OrderPreviewData(OmitNoneSerializer):
    currency = serializers.CharField()
    points_earned = serializers.IntegerField(source="preview.earning.points")
    visit_bonus_points = serializers.IntegerField(source="preview.earning.visit_bonus")
    tier = TierData(source="preview.tier", allow_null=True)
    point_balance = serializers.IntegerField(source="preview.point_balance", allow_null=True)
    lines = PreviewLineData(source="preview.earning.lines", many=True)
    points_worth = PointsWorthData(required=False, allow_null=True)
    campaigns = campaign_shares_field(source="preview.campaigns")
    omit_when_none = ("points_worth", "campaigns")


def order_preview_call(call: Call) -> dict:
    data = call.data
    preview = order_preview(
        organization=call.organization,
        customer=call.customer,
        currency=data["currency"],
        total=_total(data["total"], data["currency"]),
        lines=parse_order_lines(data["lines"]),
        paid_with_points=data["paid_with_points"],
    )
    worth = None
    if "points" in data:
        worth = {
            "points": data["points"],
            "amount": points_worth(data["points"], point_program_or_404(), data["currency"]),
        }
    return {"currency": data["currency"], "preview": preview, "points_worth": worth}


class OrderPreviewView(PosApiView):
    post = Command(
        "order_preview",
        OrderPreviewRequest,
        OrderPreviewData,
        order_preview_call,
        rate_limit="customer",
        errors=ORDER_INPUT_ERRORS,
    )


class ReturnLineData(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    quantity = QuantityField()
    points_returned = serializers.IntegerField(source="points")


class ReturnData(OmitNoneSerializer):
    id = serializers.CharField(source="order_return.pk")
    order_external_id = serializers.CharField(source="order_return.order.external_id")
    external_id = serializers.CharField(source="order_return.external_id")
    is_cancellation = serializers.BooleanField(source="order_return.is_cancellation")
    lines = serializers.SerializerMethodField()
    points_due = serializers.IntegerField(source="order_return.points_due")
    points_taken = serializers.IntegerField(source="order_return.points_taken")
    points_unrecovered = serializers.IntegerField(source="order_return.points_unrecovered")
    paid_points_refunded = serializers.IntegerField(source="order_return.paid_points_refunded")
    point_balance = serializers.IntegerField(allow_null=True)
    order = serializers.SerializerMethodField()
    campaigns = campaign_shares_field(source="order_return.campaigns")
    omit_when_none = ("campaigns",)

    @extend_schema_field(ReturnLineData(many=True))
    def get_lines(self, returned) -> list:
        lines = returned.order_return.lines.select_related("order_line").order_by("order_line__position")
        return ReturnLineData(lines, many=True, context=self.context).data

    @extend_schema_field(OrderData)
    def get_order(self, returned) -> dict:
        order = RecordedOrder(order=returned.order_return.order, point_balance=returned.point_balance)
        return OrderData(order, context=self.context).data


@dataclass(frozen=True)
class RecordedReturn:
    order_return: OrderReturn
    point_balance: int | None


def return_record(call: Call) -> RecordedReturn:
    recorded = order_return(
        order_external_id=call.path["order_external_id"],
        external_id=call.data["external_id"],
        lines=parse_return_lines(call.data.get("lines")),
        api_key_lookup_id=call.api_key_lookup_id,
    )
    balance = None
    if recorded.order.customer_id is not None:
        balance = card_balances(recorded.order.customer_id).get(Program.Kind.POINT, 0)
    return RecordedReturn(order_return=recorded, point_balance=balance)


class OrderReturnsView(PosApiView):
    post = Command(
        "order_return",
        ReturnRequest,
        ReturnData,
        return_record,
        once="orders/returns",
        errors=(
            errors.ORDER_NOT_FOUND,
            errors.PROGRAM_NOT_FOUND,
            errors.ORDER_ALREADY_RETURNED,
            errors.RETURN_EXISTS,
            errors.LINES_INVALID,
            errors.SKU_NOT_IN_ORDER,
            errors.RETURN_EXCEEDS_ORDER,
            errors.CUSTOMER_BLOCKED,
            errors.CARD_BLOCKED,
        ),
    )
