"""Running campaigns at the POS: a till's display, and what applies to the customer at hand."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from loyalty_platform.campaigns.boosts import CampaignOn, boost_text, campaigns_on_display
from loyalty_platform.campaigns.models import CampaignAction
from loyalty_platform.core import errors
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import customer_by_code
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, PosApiView, Query
from loyalty_platform.pos_api.output import IsoDateTimeField, MoneyField


class BoostData(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(CampaignAction.BOOSTS))
    applies_to = serializers.ChoiceField(choices=CampaignAction.AppliesTo.values)
    match_values = serializers.SerializerMethodField(help_text="Categories or SKUs, for category and sku.")
    multiplier = serializers.SerializerMethodField(help_text="points_multiplier: 2 doubles.")
    points = serializers.IntegerField(help_text="bonus_points: per visit, or per unit of matching lines.")
    stamps = serializers.IntegerField(help_text="bonus_stamps: per stamp earn.")
    minimum_spend = MoneyField(allow_null=True, help_text="A per-visit bonus's minimum order total.")
    text = serializers.SerializerMethodField(help_text='In words, e.g. "2x points on coffee".')

    def get_match_values(self, action: CampaignAction) -> list[str]:
        return [part.strip() for part in action.match_values.split(",") if part.strip()]

    @extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d+)?$", "example": "2"})
    def get_multiplier(self, action: CampaignAction) -> str:
        return format(action.multiplier.normalize(), "f")

    def get_text(self, action: CampaignAction) -> str:
        return boost_text(action)


class CampaignData(serializers.Serializer):
    """A campaign that is on now, and its boosts."""

    id = serializers.IntegerField(source="campaign.pk")
    name = serializers.CharField(source="campaign.name")
    description = serializers.CharField(source="campaign.description")
    audience = serializers.ChoiceField(
        choices=["everyone", "segment"], help_text="For every customer, or for a segment's members."
    )
    starts_at = IsoDateTimeField(source="occurrence.starts_at", help_text="The current occurrence's start.")
    ends_at = IsoDateTimeField(
        source="occurrence.ends_at", allow_null=True, help_text="The current occurrence's end; null: no end."
    )
    boosts = BoostData(many=True, help_text="What earns and orders get while it is on.")


def campaigns_for_customer(customer: Customer) -> list[CampaignOn]:
    return campaigns_on_display(at=timezone.now(), customer_id=customer.pk)


def _customer_code(raw: str) -> int:
    try:
        return s.CustomerCodeField().run_validation(raw)
    except ValidationError as error:
        raise errors.CUSTOMER_CODE_INVALID(field="customer_code") from error


def campaigns_list(call: Call) -> list[CampaignOn]:
    raw = call.request.query_params.get("customer_code")
    if raw is None:
        return campaigns_on_display(at=timezone.now(), anyone=True)
    customer = customer_by_code(_customer_code(raw))
    if customer is None:
        raise errors.CUSTOMER_NOT_FOUND()
    return campaigns_for_customer(customer)


class CampaignsView(PosApiView):
    get = Query(
        "campaigns_list",
        CampaignData,
        campaigns_list,
        many=True,
        parameters=(
            OpenApiParameter(
                "customer_code", int, description="Only the campaigns that apply to this customer."
            ),
        ),
        errors=(errors.CUSTOMER_CODE_INVALID, errors.CUSTOMER_NOT_FOUND),
    )
