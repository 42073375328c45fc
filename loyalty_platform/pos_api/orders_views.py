"""Orders and returns at the POS: the basket's points, a preview, returns against lines."""

from decimal import Decimal

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import MAX_AMOUNT, currency_exponent, exact_decimal, money_text
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.orders.claims import receipt_claim_url
from loyalty_platform.orders.earning import LineInput
from loyalty_platform.orders.models import Order, OrderReturn
from loyalty_platform.orders.services import order_create, order_preview, order_return, point_program_or_404
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.views import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_ERRORS,
    PIN_ERRORS,
    PosApiView,
    _customer_or_404,
    _envelope,
    _errors,
    json_response,
    render_in_transaction,
)
from loyalty_platform.profile.selectors import points_worth
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import card_balances
from loyalty_platform.shops.models import Shop
from loyalty_platform.tiers.selectors import tier_data
from loyalty_platform.verification.services import manual_code_check

MAX_LINES = 500
MAX_QUANTITY = Decimal("1000000")
LINE_FIELDS = frozenset({"sku", "name", "category", "quantity", "unit_price"})
RETURN_LINE_FIELDS = frozenset({"sku", "quantity"})


class NonNegativeCountField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=2**53 - 1, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


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
    paid_with_points = NonNegativeCountField(required=False, default=0)


class OrderRequest(OrderFieldsMixin):
    external_id = s.StrictCharField(max_length=128, help_text="The order's id at the POS; idempotency key.")


class OrderPreviewRequest(OrderFieldsMixin):
    external_id = s.StrictCharField(max_length=128, required=False, help_text="Ignored.")
    points = NonNegativeCountField(required=False, help_text="Also say what this many points are worth.")


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


def parse_order_lines(raw: object) -> list[LineInput]:
    if raw is None:
        raise errors.LINES_REQUIRED(field="lines")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        raise errors.LINES_INVALID(field="lines")
    lines = []
    for index, line in enumerate(raw):
        if not isinstance(line, dict) or set(line) - LINE_FIELDS:
            raise errors.LINES_INVALID(field="lines", line=index)
        sku = _text(line, "sku", 64, required=True)
        name = _text(line, "name", 200, required=False)
        category = _text(line, "category", 100, required=False)
        quantity = _decimal(line.get("quantity"), places=3, positive=True, maximum=MAX_QUANTITY)
        unit_price = _decimal(line.get("unit_price"), places=4, positive=False, maximum=MAX_AMOUNT)
        if None in (sku, name, category, quantity, unit_price):
            raise errors.LINES_INVALID(field="lines", line=index)
        lines.append(
            LineInput(sku=sku, name=name, category=category, quantity=quantity, unit_price=unit_price)
        )
    if sum((line.amount for line in lines), Decimal(0)) >= MAX_AMOUNT:
        raise errors.LINES_INVALID(field="lines")
    return lines


def parse_return_lines(raw: object) -> list[tuple[str, Decimal]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        raise errors.LINES_INVALID(field="lines")
    lines = []
    for index, line in enumerate(raw):
        if not isinstance(line, dict) or set(line) - RETURN_LINE_FIELDS:
            raise errors.LINES_INVALID(field="lines", line=index)
        sku = _text(line, "sku", 64, required=True)
        quantity = _decimal(line.get("quantity"), places=3, positive=True, maximum=MAX_QUANTITY)
        if sku is None or quantity is None:
            raise errors.LINES_INVALID(field="lines", line=index)
        lines.append((sku, quantity))
    return lines


def _total(raw: object, currency: str) -> Decimal:
    if raw is None:
        raise errors.TOTAL_REQUIRED(field="total")
    total = _decimal(raw, places=currency_exponent(currency), positive=False, maximum=MAX_AMOUNT)
    if total is None:
        raise errors.TOTAL_INVALID(field="total")
    return total


def _quantity_text(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def _shop_id(data: dict, request) -> int | None:
    shop_id = data.get("shop_id") or request.auth.shop_id
    if shop_id is not None and not Shop.objects.filter(pk=shop_id).exists():
        raise errors.SHOP_ID_INVALID()
    return shop_id


def order_data(order: Order, *, point_balance: int | None, tier, claim_url: str | None = None) -> dict:
    currency = order.currency
    return {
        "id": str(order.pk),
        "external_id": order.external_id,
        "customer_code": order.customer.customer_code if order.customer_id else None,
        "shop_id": order.shop_id,
        "currency": currency,
        "total": money_text(order.total, currency),
        "status": order.status,
        "points_earned": order.points_earned,
        "visit_bonus_points": order.visit_bonus_points,
        "paid_with_points": order.paid_with_points,
        "points_returned": order.points_returned,
        "points_unrecovered": order.points_unrecovered,
        "point_balance": point_balance,
        "tier": tier_data(tier),
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "category": line.category,
                "quantity": _quantity_text(line.quantity),
                "unit_price": format(line.unit_price.normalize(), "f"),
                "points_earned": line.points_earned,
                "returned_quantity": _quantity_text(line.returned_quantity),
                "points_returned": line.points_returned,
            }
            for line in order.lines.order_by("position")
        ],
        "claim_url": claim_url,
        "claim_expires_at": order.claim_expires_at.isoformat() if claim_url else None,
        "created_at": order.created_at.isoformat(),
    }


ORDER = inline_serializer(
    "Order",
    fields={
        "id": serializers.CharField(),
        "external_id": serializers.CharField(),
        "customer_code": serializers.IntegerField(allow_null=True),
        "shop_id": serializers.IntegerField(allow_null=True),
        "currency": serializers.CharField(),
        "total": serializers.CharField(help_text="Decimal string"),
        "status": serializers.ChoiceField(choices=Order.Status.values),
        "points_earned": serializers.IntegerField(),
        "visit_bonus_points": serializers.IntegerField(),
        "paid_with_points": serializers.IntegerField(),
        "points_returned": serializers.IntegerField(),
        "points_unrecovered": serializers.IntegerField(),
        "point_balance": serializers.IntegerField(allow_null=True, help_text="Null without a customer."),
        "tier": serializers.DictField(allow_null=True),
        "lines": serializers.ListField(child=serializers.DictField()),
        "claim_url": serializers.URLField(allow_null=True, help_text="Only for orders without a customer."),
        "claim_expires_at": serializers.DateTimeField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)
ORDER_INPUT_ERRORS = (
    "currency_invalid",
    "currency_mismatch",
    "total_required",
    "total_invalid",
    "lines_required",
    "lines_invalid",
    "shop_id_invalid",
    "paid_with_points_invalid",
    "customer_code_invalid",
    "customer_code_required (paid_with_points without a customer)",
    "insufficient_balance",
    "below_minimum",
)


class OrdersView(PosApiView):
    @extend_schema(
        operation_id="order_create",
        summary="Report an order: its lines earn points by the organization's earning rules",
        request=OrderRequest,
        responses={
            200: _envelope("OrderRecorded", ORDER),
            404: _errors("customer_not_found", "program_not_found"),
            409: _errors("order_exists", *IDEMPOTENCY_ERRORS),
            422: _errors("external_id_required", *ORDER_INPUT_ERRORS, *PIN_ERRORS, *BODY_ERRORS),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = OrderRequest(data=request.data).validated()
        organization = self.organization
        currency = data["currency"]
        total = _total(data["total"], currency)
        lines = parse_order_lines(data["lines"])
        manual_code_check(organization=organization, manual_code=data["manual_code"])

        def perform(claim) -> HttpResponse:
            customer = _customer_or_404(data["customer_code"]) if "customer_code" in data else None
            challenge = None
            if customer is not None:
                action = "redeem" if data["paid_with_points"] else "earn"
                challenge = self.verify_pin(customer=customer, action=action, data=data)
            shop_id = _shop_id(data, request)

            def build() -> dict:
                outcome = order_create(
                    organization=organization,
                    pin_challenge_id=challenge,
                    external_id=data["external_id"],
                    customer=customer,
                    shop_id=shop_id,
                    currency=currency,
                    total=total,
                    lines=lines,
                    paid_with_points=data["paid_with_points"],
                    api_key_lookup_id=request.auth.lookup_id,
                )
                order = outcome.order
                claim_url = None
                if customer is None:
                    claim_url = receipt_claim_url(
                        organization=organization,
                        base_url=organization_base_url(),
                        external_id=order.external_id,
                        expires_at=order.claim_expires_at,
                    )
                return order_data(
                    order, point_balance=outcome.point_balance, tier=outcome.tier, claim_url=claim_url
                )

            return render_in_transaction(claim, build)

        return self.run_once(
            endpoint="orders", external_id=data["external_id"], body=request.data, perform=perform
        )


class OrderPreviewView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="order_preview",
        summary="What a basket would earn (and what points are worth), saving nothing",
        request=OrderPreviewRequest,
        responses={
            200: _envelope(
                "OrderPreview",
                inline_serializer(
                    "OrderPreviewData",
                    fields={
                        "currency": serializers.CharField(),
                        "points_earned": serializers.IntegerField(),
                        "visit_bonus_points": serializers.IntegerField(),
                        "tier": serializers.DictField(allow_null=True),
                        "point_balance": serializers.IntegerField(allow_null=True),
                        "lines": serializers.ListField(child=serializers.DictField()),
                        "points_worth": serializers.DictField(required=False),
                    },
                ),
            ),
            404: _errors("customer_not_found", "program_not_found"),
            422: _errors(*ORDER_INPUT_ERRORS, "points_invalid", *BODY_ERRORS),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request):
        data = OrderPreviewRequest(data=request.data).validated()
        currency = data["currency"]
        total = _total(data["total"], currency)
        lines = parse_order_lines(data["lines"])
        customer = _customer_or_404(data["customer_code"]) if "customer_code" in data else None
        preview = order_preview(
            organization=self.organization,
            customer=customer,
            currency=currency,
            total=total,
            lines=lines,
            paid_with_points=data["paid_with_points"],
        )
        earning = preview.earning
        payload = {
            "currency": currency,
            "points_earned": earning.points,
            "visit_bonus_points": earning.visit_bonus,
            "tier": tier_data(preview.tier),
            "point_balance": preview.point_balance,
            "lines": [
                {
                    "sku": item.line.sku,
                    "quantity": _quantity_text(item.line.quantity),
                    "points_earned": item.points,
                    "excluded": item.excluded,
                }
                for item in earning.lines
            ],
        }
        if "points" in data:
            payload["points_worth"] = {
                "points": data["points"],
                "amount": points_worth(data["points"], point_program_or_404(), currency),
            }
        return json_response({"data": payload})


def return_data(order_return: OrderReturn, *, point_balance: int | None) -> dict:
    order = order_return.order
    return {
        "id": str(order_return.pk),
        "order_external_id": order.external_id,
        "external_id": order_return.external_id,
        "is_cancellation": order_return.is_cancellation,
        "lines": [
            {
                "sku": line.order_line.sku,
                "quantity": _quantity_text(line.quantity),
                "points_returned": line.points,
            }
            for line in order_return.lines.select_related("order_line").order_by("order_line__position")
        ],
        "points_due": order_return.points_due,
        "points_taken": order_return.points_taken,
        "points_unrecovered": order_return.points_unrecovered,
        "paid_points_refunded": order_return.paid_points_refunded,
        "point_balance": point_balance,
        "order": order_data(order, point_balance=point_balance, tier=None),
    }


class OrderReturnsView(PosApiView):
    @extend_schema(
        operation_id="order_return",
        summary="Return lines of an order (or all of it): take back exactly what they earned",
        request=ReturnRequest,
        responses={
            200: _envelope("OrderReturned", serializers.DictField()),
            404: _errors("order_not_found", "program_not_found"),
            409: _errors("order_already_returned", "return_exists", *IDEMPOTENCY_ERRORS),
            422: _errors(
                "external_id_required",
                "lines_invalid",
                "sku_not_in_order",
                "return_exceeds_order",
                *BODY_ERRORS,
            ),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, order_external_id: str):
        data = ReturnRequest(data=request.data).validated()
        lines = parse_return_lines(data.get("lines"))

        def build() -> dict:
            order_return_row = order_return(
                order_external_id=order_external_id,
                external_id=data["external_id"],
                lines=lines,
                api_key_lookup_id=request.auth.lookup_id,
            )
            balance = None
            if order_return_row.order.customer_id is not None:
                balance = card_balances(order_return_row.order.customer_id).get(Program.Kind.POINT, 0)
            return return_data(order_return_row, point_balance=balance)

        return self.respond_once(
            endpoint="orders/returns",
            external_id=data["external_id"],
            body={**request.data, "_path": {"order": order_external_id}},
            build=build,
        )
