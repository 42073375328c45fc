"""Rewards bought with points, and the customer's wallet, at the POS."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.pos_api import endpoints, pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.campaigns_views import CampaignData, campaigns_for_customer
from loyalty_platform.pos_api.endpoints import Call, Command, PosApiView, Query
from loyalty_platform.pos_api.output import (
    DiscountField,
    ExpiringPointsData,
    IsoDateTimeField,
    customer_status_field,
)
from loyalty_platform.profile.selectors import customer_wallet
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import card_balances
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.services import (
    PROFILE_EXTERNAL_ID_PREFIX,
    reward_catalog_for,
    reward_reception_check,
    reward_reception_collect,
    reward_reception_create,
    reward_reception_reverse,
    reward_reception_reverse_collection,
)
from loyalty_platform.tiers.selectors import tier_data

REWARD = endpoints.PathObject(
    missing=errors.REWARD_NOT_FOUND,
    parse=lambda raw: int(raw) if str(raw).isdigit() and len(str(raw)) < 19 else None,
    fetch=lambda pk: Reward.objects.filter(pk=pk, is_active=True).first(),
)
RECEPTION = endpoints.row_by_uuid(errors.RECEPTION_NOT_FOUND)


class ReceptionRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    customer_code = s.CustomerCodeField()
    external_id = s.StrictCharField(
        max_length=128, help_text=f'Not beginning with "{PROFILE_EXTERNAL_ID_PREFIX}": the profile\'s own.'
    )
    pre_redeem = s.StrictBooleanField(required=False, default=False)

    def validate_external_id(self, value: str) -> str:
        # The profile's takes are unique per customer and key (reception_profile_once): a
        # till's id in that space could collide with one and fail on the constraint.
        if value.startswith(PROFILE_EXTERNAL_ID_PREFIX):
            raise serializers.ValidationError("reserved", code="invalid")
        return value


class ReceptionActionRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128, required=False)


class ReverseReceptionRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128)


class RewardData(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    required_credits = serializers.IntegerField()
    image = serializers.SerializerMethodField()
    pre_redeem_allowed = serializers.BooleanField(source="allow_pre_redeem")
    discount = DiscountField()
    attributes = serializers.DictField()

    def get_image(self, reward: Reward) -> str | None:
        return self.context["request"].build_absolute_uri(reward.image.url) if reward.image else None


class CatalogEntryData(RewardData):
    affordable = serializers.BooleanField()
    points_needed = serializers.IntegerField()

    def to_representation(self, entry) -> dict:
        return {
            **RewardData(entry.reward, context=self.context).data,
            "affordable": entry.affordable,
            "points_needed": entry.points_needed,
        }


class ReceptionData(serializers.Serializer):
    id = serializers.UUIDField()
    reward = RewardData()
    customer_code = serializers.IntegerField(source="customer.customer_code")
    points = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RewardReception.Status.values)
    created_at = IsoDateTimeField()
    collected_at = IsoDateTimeField(allow_null=True)
    point_balance = serializers.SerializerMethodField()

    def get_point_balance(self, reception: RewardReception) -> int:
        return card_balances(reception.customer_id).get(Program.Kind.POINT, 0)


def catalog(call: Call) -> list:
    return reward_catalog_for(customer=call.customer)


class CustomerRewardsView(PosApiView):
    path = {"customer_code": endpoints.CUSTOMER}
    get = Query("customer_rewards", CatalogEntryData, catalog, many=True)


def reception_check(call: Call) -> None:
    reward_reception_check(
        reward=call.path["reward_id"], customer=call.customer, pre_redeem=call.data["pre_redeem"]
    )


def reception_create(call: Call) -> RewardReception:
    return reward_reception_create(
        reward=call.path["reward_id"],
        customer=call.customer,
        **call.arguments("pre_redeem", "external_id", pin=True),
    )


RECEPTION_EXAMPLE = {
    "id": "0b1f4e7a-3c2d-4e5f-8a9b-7c6d5e4f3a2b",
    "reward": {
        "id": 3,
        "name": "Croissant",
        "description": "Any croissant from the counter",
        "required_credits": 80,
        "image": None,
        "pre_redeem_allowed": True,
        "discount": {
            "discount_type": "free_item",
            "discount_value": None,
            "product_code": "CRO-01",
            "category": "",
        },
        "attributes": {},
    },
    "customer_code": 482193,
    "points": 80,
    "status": "spent",
    "created_at": "2026-12-01T10:04:51.202113+00:00",
    "collected_at": None,
    "point_balance": 52,
}


class ReceptionsView(PosApiView):
    path = {"reward_id": REWARD}
    post = Command(
        "reward_reception_create",
        ReceptionRequest,
        ReceptionData,
        reception_create,
        once="rewards/receptions",
        pin_action="redeem",
        pin_summary=pin_summaries.reward_summary,
        check=reception_check,
        errors=(
            errors.CUSTOMER_NOT_FOUND,
            errors.PROGRAM_NOT_FOUND,
            errors.INSUFFICIENT_BALANCE,
            errors.PRE_REDEEM_NOT_ALLOWED,
            errors.CUSTOMER_BLOCKED,
            errors.CARD_BLOCKED,
        ),
    )


def reverse(call: Call) -> RewardReception:
    return reward_reception_reverse(reception_id=call.path["reception_id"], **call.arguments("external_id"))


def collect(call: Call) -> RewardReception:
    return reward_reception_collect(reception_id=call.path["reception_id"])


def reverse_collection(call: Call) -> RewardReception:
    return reward_reception_reverse_collection(reception_id=call.path["reception_id"])


# The later steps in a reception's life, by the URL's last segment
# (POST /webhook/reward-receptions/<id>/<step>): the request, what it does, its refusals.
# A blocked customer's reception takes no step: its reward is theirs to use.
RECEPTION_STEPS = {
    "reverse": (
        ReverseReceptionRequest,
        reverse,
        (errors.RECEPTION_NOT_REVERSIBLE, errors.CUSTOMER_BLOCKED, errors.CARD_BLOCKED),
    ),
    "collect": (ReceptionActionRequest, collect, (errors.RECEPTION_NOT_COLLECTABLE, errors.CUSTOMER_BLOCKED)),
    "reverse-collection": (
        ReceptionActionRequest,
        reverse_collection,
        (errors.RECEPTION_NOT_COLLECTED, errors.CUSTOMER_BLOCKED),
    ),
}


def reception_step_view(step: str) -> type[PosApiView]:
    """The view of one of RECEPTION_STEPS, once per external_id; its class is named after
    the step ("reverse-collection": ReceptionReverseCollectionView)."""
    request, perform, refusals = RECEPTION_STEPS[step]
    post = Command(
        "reward_reception_" + step.replace("-", "_"),
        request,
        ReceptionData,
        perform,
        once=f"reward-receptions/{step}",
        errors=refusals,
    )
    name = "Reception" + step.title().replace("-", "") + "View"
    path = {"reception_id": RECEPTION}
    return type(name, (PosApiView,), {"__module__": __name__, "path": path, "post": post})


ReceptionReverseView = reception_step_view("reverse")
ReceptionCollectView = reception_step_view("collect")
ReceptionReverseCollectionView = reception_step_view("reverse-collection")


class WalletVoucherData(serializers.Serializer):
    code = serializers.CharField()
    promotion = serializers.CharField(source="promotion.title")
    discount = DiscountField(source="promotion")
    attributes = serializers.DictField(source="promotion.attributes")
    uses_left = serializers.IntegerField()
    valid_until = IsoDateTimeField(source="promotion.valid_until", allow_null=True)


class WalletCouponData(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    qr_token = serializers.CharField()
    expires_at = IsoDateTimeField(allow_null=True)


class WalletData(serializers.Serializer):
    customer_code = serializers.IntegerField(source="customer.customer_code")
    status = customer_status_field(source="customer.status")
    points = serializers.IntegerField()
    points_worth = serializers.CharField(help_text="What the points pay, in the currency.")
    currency = serializers.CharField(help_text="The organization's currency (ISO 4217 code).")
    points_expiring = ExpiringPointsData(
        help_text="Points of the balance that expire within the next 30 days, and when the first do."
    )
    stamps = serializers.IntegerField(help_text="Stamps on the current stamp card.")
    tier = serializers.SerializerMethodField()
    coupons = WalletCouponData(many=True, help_text="Active coupons that have not expired.")
    vouchers = WalletVoucherData(
        many=True, help_text="Vouchers redeemable now (a minimum spend applies at the till)."
    )
    collectable_rewards = ReceptionData(many=True, help_text="Rewards received, waiting to be handed over.")
    affordable_rewards = RewardData(many=True, help_text="Up to three rewards the points pay for.")
    campaigns = serializers.SerializerMethodField(help_text="Campaigns on now that apply to the customer.")

    def get_tier(self, wallet) -> dict | None:
        return tier_data(wallet.tier)

    @extend_schema_field(CampaignData(many=True))
    def get_campaigns(self, wallet) -> list:
        return CampaignData(campaigns_for_customer(wallet.customer), many=True, context=self.context).data


class WalletView(PosApiView):
    path = {"customer_code": endpoints.CUSTOMER}
    get = Query(
        "customer_wallet", WalletData, lambda call: customer_wallet(call.customer, currency=call.currency)
    )
