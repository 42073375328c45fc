"""Offers (the organization's promotions, offer id = Promotion.pk) and the product categories
the organization knows.

An offer is a promotion whose vouchers tills redeem: a discount (percentage or fixed amount)
or a free item. Its fields map onto the promotion's: minimum_purchase = minimum_spend,
user_limit = uses_per_customer, starts_at/ends_at = valid_from/valid_until, categories = the
discount's one category; usage_count is the uses of its vouchers, usage_limit what its
issued (not voided) vouchers allow. Loyalty.lt settings promotions here do not have are
refused (offer_field_not_supported), as are the types they cannot honour
(offer_type_not_supported), rather than stored and ignored. The rules are the services'
(vouchers.services), which the portal uses too; refusals name the offer's fields.

DELETE removes a promotion nothing refers to; one with vouchers (or named by a campaign or a
segment) is withdrawn instead, is_active false, so its history stays (promotion_delete).
"""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework import serializers

from loyalty_platform.branding.selectors import logo_url
from loyalty_platform.campaigns.selectors import organization_zone
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError
from loyalty_platform.core.money import currency_exponent, exact_decimal, money_text
from loyalty_platform.core.text import ascii_digits, has_control_characters
from loyalty_platform.identification.services import organization_base_url
from loyalty_platform.orders.models import EarningRule, OrderLine
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, PathObject
from loyalty_platform.pos_api.output import IsoDateTimeField
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import active_programs
from loyalty_platform.rewards.discounts import DiscountType
from loyalty_platform.shop_api.wire import (
    PageParams,
    QueryBooleanField,
    ShopApiView,
    ShopCommand,
    ShopQuery,
    paginate,
)
from loyalty_platform.vouchers.models import Promotion, Voucher
from loyalty_platform.vouchers.services import (
    PromotionRemoval,
    promotion_create,
    promotion_delete,
    promotion_update,
)

DISCOUNT, FREE_ITEM = "discount", "free_item"
# Loyalty.lt's offer types that promotions here cannot honour.
TYPES_NOT_HONOURED = ("points_multiplier", "cashback")
OFFER_TYPES = (DISCOUNT, FREE_ITEM, *TYPES_NOT_HONOURED)
# The offer's discount_type and the promotion's.
PERCENTAGE, FIXED_AMOUNT = "percentage", "fixed_amount"
DISCOUNT_KINDS = {PERCENTAGE: DiscountType.PERCENT, FIXED_AMOUNT: DiscountType.AMOUNT}
KIND_OF_DISCOUNT = {promotion: offer for offer, promotion in DISCOUNT_KINDS.items()}
VALUE_FIELDS = {PERCENTAGE: "discount_percentage", FIXED_AMOUNT: "discount_amount"}
# Offer fields of Loyalty.lt that promotions here have no setting for.
FIELDS_NOT_SUPPORTED = (
    "image",
    "is_featured",
    "points_multiplier",
    "points_cost",
    "maximum_discount",
    "usage_limit",
    "terms_conditions",
)
# The promotion's settings as the offer names them (discount_value: by the discount's kind).
OFFER_FIELD_OF = {
    "title": "title",
    "description": "description",
    "discount_type": "discount_type",
    "product_code": "product_code",
    "category": "categories",
    "valid_from": "starts_at",
    "valid_until": "ends_at",
    "minimum_spend": "minimum_purchase",
    "uses_per_customer": "user_limit",
    "is_active": "is_active",
}
MAX_DESCRIPTION = 5000
MAX_CATEGORY = Promotion._meta.get_field("category").max_length
FIRST_YEAR, LAST_YEAR = 1970, 9998


def offers() -> QuerySet:
    """Promotions with what their vouchers add up to."""
    return Promotion.objects.annotate(
        usage_count=Coalesce(Sum("vouchers__uses"), 0),
        issued_vouchers=Count("vouchers", filter=~Q(vouchers__status=Voucher.Status.VOID)),
    ).order_by("-created_at", "-pk")


def parse_offer_id(raw: object) -> int | None:
    text = str(raw)
    if not ascii_digits(text) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= 2**62 else None


OFFER = PathObject(
    missing=errors.OFFER_NOT_FOUND, parse=parse_offer_id, fetch=lambda pk: offers().filter(pk=pk).first()
)


def offer_type(promotion: Promotion) -> str:
    return FREE_ITEM if promotion.discount_type == DiscountType.FREE_ITEM else DISCOUNT


def _partner(context: dict) -> dict:
    """The organization as an offer names it, read once per answer."""
    call: Call = context["call"]
    if "partner" not in call.extra:
        logo = logo_url()
        call.extra["partner"] = {
            "name": call.organization.name,
            "logo": f"{organization_base_url()}{logo}" if logo else None,
        }
    return call.extra["partner"]


class OfferData(serializers.Serializer):
    """An offer as the SDK's Offer model reads it. Money is a decimal string in the currency
    ("15.00"), a percentage its shortest exact decimal ("12.5"); settings promotions here do
    not have are null, or false."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    image = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    discount_type = serializers.SerializerMethodField()
    discount_percentage = serializers.SerializerMethodField()
    discount_amount = serializers.SerializerMethodField()
    product_code = serializers.CharField(help_text="The SKU(s) the discount or free item is for; empty: any.")
    points_multiplier = serializers.SerializerMethodField()
    points_cost = serializers.SerializerMethodField()
    minimum_purchase = serializers.SerializerMethodField()
    maximum_discount = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    is_featured = serializers.SerializerMethodField()
    categories = serializers.SerializerMethodField()
    partner_name = serializers.SerializerMethodField()
    partner_logo = serializers.SerializerMethodField()
    usage_limit = serializers.SerializerMethodField(
        help_text="The uses its issued vouchers allow now (more codes raise it)."
    )
    usage_count = serializers.IntegerField(help_text="Uses of its vouchers (reversed ones not counted).")
    user_limit = serializers.IntegerField(source="uses_per_customer", allow_null=True)
    terms_conditions = serializers.SerializerMethodField()
    starts_at = IsoDateTimeField(source="valid_from", allow_null=True)
    ends_at = IsoDateTimeField(source="valid_until", allow_null=True)
    created_at = IsoDateTimeField()
    updated_at = IsoDateTimeField()

    def get_image(self, promotion: Promotion) -> None:
        return None

    def get_type(self, promotion: Promotion) -> str:
        return offer_type(promotion)

    def get_discount_type(self, promotion: Promotion) -> str | None:
        return KIND_OF_DISCOUNT.get(promotion.discount_type)

    def get_discount_percentage(self, promotion: Promotion) -> str | None:
        if promotion.discount_type != DiscountType.PERCENT or promotion.discount_value is None:
            return None
        return format(Decimal(promotion.discount_value).normalize(), "f")

    def get_discount_amount(self, promotion: Promotion) -> str | None:
        if promotion.discount_type != DiscountType.AMOUNT or promotion.discount_value is None:
            return None
        return money_text(Decimal(promotion.discount_value), self.context["currency"])

    def get_points_multiplier(self, promotion: Promotion) -> None:
        return None

    def get_points_cost(self, promotion: Promotion) -> None:
        return None

    def get_minimum_purchase(self, promotion: Promotion) -> str | None:
        if promotion.minimum_spend is None:
            return None
        return money_text(Decimal(promotion.minimum_spend), self.context["currency"])

    def get_maximum_discount(self, promotion: Promotion) -> None:
        return None

    def get_is_featured(self, promotion: Promotion) -> bool:
        return False

    def get_categories(self, promotion: Promotion) -> list[str]:
        return [promotion.category] if promotion.category else []

    def get_partner_name(self, promotion: Promotion) -> str:
        return _partner(self.context)["name"]

    def get_partner_logo(self, promotion: Promotion) -> str | None:
        return _partner(self.context)["logo"]

    def get_usage_limit(self, promotion: Promotion) -> int:
        return promotion.issued_vouchers * promotion.uses_per_voucher

    def get_terms_conditions(self, promotion: Promotion) -> None:
        return None


class OffersParams(PageParams):
    is_active = QueryBooleanField(required=False)
    category = s.StrictCharField(required=False, max_length=MAX_CATEGORY)
    type = s.StrictCharField(required=False, max_length=40)


def offers_list(call: Call):
    rows = offers()
    data = call.data
    if "is_active" in data:
        rows = rows.filter(is_active=data["is_active"])
    if "category" in data:
        rows = rows.filter(category__iexact=data["category"].strip())
    if "type" in data:
        wanted = data["type"]
        if wanted not in OFFER_TYPES:
            raise errors.field_error("type", "invalid")(field="type")
        if wanted == FREE_ITEM:
            rows = rows.filter(discount_type=DiscountType.FREE_ITEM)
        elif wanted == DISCOUNT:
            rows = rows.exclude(discount_type=DiscountType.FREE_ITEM)
        else:
            rows = rows.none()
    return paginate(rows, data)


class OfferChange(s.PosRequestSerializer):
    """PUT: the fields given change, the rest stay. null clears what may be empty."""

    title = s.StrictCharField(required=False, max_length=Promotion._meta.get_field("title").max_length)
    description = s.StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_DESCRIPTION, multiline=True
    )
    type = s.StrictCharField(required=False, max_length=40, help_text="discount or free_item.")
    discount_type = s.StrictCharField(required=False, max_length=40, help_text="percentage or fixed_amount.")
    discount_percentage = s.RawValueField(
        schema=s.MONEY, required=False, help_text="More than 0, at most 100, two decimals at most."
    )
    discount_amount = s.RawValueField(
        schema=s.MONEY, required=False, help_text="More than 0, in the currency's decimals."
    )
    product_code = s.StrictCharField(
        required=False,
        allow_blank=True,
        max_length=Promotion._meta.get_field("product_code").max_length,
        help_text="The SKU(s), comma-separated, the discount is for; a free item needs one.",
    )
    minimum_purchase = s.RawValueField(schema=s.MONEY, required=False, allow_null=True)
    user_limit = s.StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
    starts_at = s.RawValueField(required=False, allow_null=True, help_text="ISO 8601.")
    ends_at = s.RawValueField(required=False, allow_null=True, help_text="ISO 8601, after starts_at.")
    categories = s.RawValueField(
        schema={"type": "array", "items": {"type": "string"}, "maxItems": 1},
        required=False,
        allow_null=True,
        help_text="At most one: the product category the discount is for.",
    )
    is_active = s.StrictBooleanField(required=False)
    image = s.RawValueField(required=False, allow_null=True)
    is_featured = s.RawValueField(required=False, allow_null=True)
    points_multiplier = s.RawValueField(required=False, allow_null=True)
    points_cost = s.RawValueField(required=False, allow_null=True)
    maximum_discount = s.RawValueField(required=False, allow_null=True)
    usage_limit = s.RawValueField(required=False, allow_null=True)
    terms_conditions = s.RawValueField(required=False, allow_null=True)


class OfferNew(OfferChange):
    title = s.StrictCharField(max_length=Promotion._meta.get_field("title").max_length)


def _invalid(name: str) -> DomainError:
    return errors.field_error(name, "invalid")(field=name)


def _required(name: str) -> DomainError:
    return errors.field_error(name, "required")(field=name)


def _amount(data: dict, name: str, *, places: int) -> Decimal | None:
    value = data[name]
    if value is None:
        return None
    exact = exact_decimal(value, places=places)
    if exact is None:
        raise _invalid(name)
    return exact


def _moment(data: dict, name: str) -> datetime | None:
    """ISO 8601; without a UTC offset, the organization's local time."""
    value = data[name]
    if value is None:
        return None
    if not isinstance(value, str) or not value.isascii() or not 10 <= len(value) <= 40:
        raise _invalid(name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(name) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise _invalid(name)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, organization_zone())


def _category(value: object) -> str:
    """The one category of `categories` ([] or null: none)."""
    if value is None:
        return ""
    if not isinstance(value, list):
        raise _invalid("categories")
    named = {}
    for item in value:
        if not isinstance(item, str) or has_control_characters(item) or len(item.strip()) > MAX_CATEGORY:
            raise _invalid("categories")
        if item.strip():
            named.setdefault(item.strip().casefold(), item.strip())
    if len(named) > 1:
        raise _invalid("categories")
    return next(iter(named.values()), "")


def _discount(data: dict, current: Promotion | None, currency: str) -> dict:
    """The promotion's discount_type and discount_value for the offer's type, discount_type
    and value, those not given read from the offer as it is (`current`; None: a new one)."""
    if not any(name in data for name in ("type", "discount_type", *VALUE_FIELDS.values())):
        return {}
    kind_now = KIND_OF_DISCOUNT.get(current.discount_type) if current else None
    wanted = data.get("type") or (offer_type(current) if current else DISCOUNT)
    if wanted not in OFFER_TYPES:
        raise _invalid("type")
    if wanted in TYPES_NOT_HONOURED:
        raise errors.OFFER_TYPE_NOT_SUPPORTED(type=wanted)
    if wanted == FREE_ITEM:
        for name in ("discount_type", *VALUE_FIELDS.values()):
            if name in data:
                raise _invalid(name)  # a free item has no discount value
        return {"discount_type": DiscountType.FREE_ITEM, "discount_value": None}
    kind = data.get("discount_type")
    if kind is not None and kind not in DISCOUNT_KINDS:
        raise _invalid("discount_type")
    if kind is None:
        given = [given_kind for given_kind, name in VALUE_FIELDS.items() if name in data]
        kind = given[0] if len(given) == 1 else kind_now
    if kind is None:
        raise _required("discount_type")
    value_field = VALUE_FIELDS[kind]
    for other in VALUE_FIELDS.values():
        if other != value_field and other in data:
            raise _invalid(other)
    changes = {"discount_type": DISCOUNT_KINDS[kind]}
    if value_field in data:
        places = 2 if kind == PERCENTAGE else currency_exponent(currency)
        changes["discount_value"] = _amount(data, value_field, places=places)
        if changes["discount_value"] is None:
            raise _invalid(value_field)
    elif kind != kind_now:
        raise _required(value_field)
    return changes


def promotion_changes(call: Call, current: Promotion | None) -> dict:
    """The offer's fields in the request as the promotion's settings."""
    data = call.data
    for name in FIELDS_NOT_SUPPORTED:
        if name in data:
            raise errors.OFFER_FIELD_NOT_SUPPORTED(field=name)
    taken_as_they_are = {
        "title": "title",
        "product_code": "product_code",
        "uses_per_customer": "user_limit",
        "is_active": "is_active",
    }
    changes = {
        promotion_name: data[offer_name]
        for promotion_name, offer_name in taken_as_they_are.items()
        if offer_name in data
    }
    if "description" in data:
        changes["description"] = data["description"] or ""
    if "minimum_purchase" in data:
        places = currency_exponent(call.currency)
        changes["minimum_spend"] = _amount(data, "minimum_purchase", places=places)
    for promotion_name, offer_name in (("valid_from", "starts_at"), ("valid_until", "ends_at")):
        if offer_name in data:
            changes[promotion_name] = _moment(data, offer_name)
    if "categories" in data:
        changes["category"] = _category(data["categories"])
    changes.update(_discount(data, current, call.currency))
    return changes


def _in_offer_words(error: DomainError, discount_type: str) -> DomainError:
    """A refusal of the promotion's settings, naming the offer's field."""
    if error.error not in (errors.PROMOTION_FIELD_REQUIRED, errors.PROMOTION_FIELD_INVALID):
        return error
    setting = error.extra["field"]
    if setting == "discount_value":
        name = "discount_percentage" if discount_type == DiscountType.PERCENT else "discount_amount"
    else:
        name = OFFER_FIELD_OF.get(setting, setting)
    kind = "required" if error.error is errors.PROMOTION_FIELD_REQUIRED else "invalid"
    return errors.field_error(name, kind)(field=name)


def offer_create(call: Call) -> Promotion:
    changes = promotion_changes(call, None)
    try:
        promotion = promotion_create(api_key_lookup_id=call.api_key_lookup_id, **changes)
    except DomainError as error:
        raise _in_offer_words(error, changes.get("discount_type", "")) from None
    return offers().get(pk=promotion.pk)


def offer_update(call: Call) -> Promotion:
    current: Promotion = call.path["offer_id"]
    changes = promotion_changes(call, current)
    try:
        promotion_update(promotion=current, api_key_lookup_id=call.api_key_lookup_id, **changes)
    except DomainError as error:
        raise _in_offer_words(error, changes.get("discount_type", current.discount_type)) from None
    return offers().get(pk=current.pk)


def offer_delete(call: Call) -> PromotionRemoval:
    return promotion_delete(promotion=call.path["offer_id"], api_key_lookup_id=call.api_key_lookup_id)


class OfferRemovalData(serializers.Serializer):
    id = serializers.IntegerField(source="promotion.pk")
    deleted = serializers.BooleanField(
        help_text="true: the offer is gone. false: it has vouchers (or a campaign or segment names "
        "it), so it was withdrawn: is_active false, its history kept."
    )
    is_active = serializers.SerializerMethodField()

    def get_is_active(self, removal: PromotionRemoval) -> bool:
        return removal.promotion.is_active and not removal.deleted


OFFER_ERRORS = (
    errors.OFFER_TYPE_NOT_SUPPORTED,
    errors.OFFER_FIELD_NOT_SUPPORTED,
    errors.ATTRIBUTE_INVALID,
)


class OffersView(ShopApiView):
    get = ShopQuery("shop_offers_list", OfferData, offers_list, params=OffersParams)
    post = ShopCommand("shop_offers_create", OfferNew, OfferData, offer_create, errors=OFFER_ERRORS)


class OfferView(ShopApiView):
    path = {"offer_id": OFFER}
    get = ShopQuery("shop_offers_get", OfferData, lambda call: call.path["offer_id"])
    put = ShopCommand(
        "shop_offers_update",
        OfferChange,
        OfferData,
        offer_update,
        errors=(errors.OFFER_NOT_FOUND, *OFFER_ERRORS),
    )
    delete = ShopCommand(
        "shop_offers_delete", None, OfferRemovalData, offer_delete, errors=(errors.OFFER_NOT_FOUND,)
    )


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def known_categories() -> list[str]:
    """Every product category the organization has met: order lines, earning rules by
    category, the point program's exclusions, promotions. Categories are matched without
    regard to case, so each is listed once (the spelling that sorts first), sorted."""
    found: list[str] = []
    for rows in (
        OrderLine.objects.order_by().exclude(category="").values_list("category", flat=True).distinct(),
        Promotion.objects.order_by().exclude(category="").values_list("category", flat=True).distinct(),
    ):
        found.extend(name.strip() for name in rows)
    rules = EarningRule.objects.filter(applies_to=EarningRule.AppliesTo.CATEGORY).values_list(
        "match_values", flat=True
    )
    for match_values in rules:
        found.extend(_names(match_values))
    point_program = active_programs().get(Program.Kind.POINT)
    if point_program is not None:
        found.extend(_names(point_program.excluded_categories))
    spellings: dict[str, str] = {}
    for name in sorted(filter(None, found)):
        spellings.setdefault(name.casefold(), name)
    return sorted(spellings.values(), key=lambda name: (name.casefold(), name))


class CategoryData(serializers.Serializer):
    def to_representation(self, name: str) -> str:
        return name


class CategoriesView(ShopApiView):
    get = ShopQuery("shop_products_categories", CategoryData, lambda call: known_categories(), many=True)
