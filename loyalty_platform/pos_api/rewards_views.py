"""Rewards bought with points, and the customer's wallet, at the POS."""

from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import (
    CUSTOMER,
    Call,
    Command,
    PathObject,
    PosApiView,
    Query,
    parse_uuid,
)
from loyalty_platform.pos_api.output import IsoDateTimeField
from loyalty_platform.profile.selectors import customer_wallet
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import card_balances
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.services import (
    reward_catalog,
    reward_reception_check,
    reward_reception_collect,
    reward_reception_create,
    reward_reception_reverse,
    reward_reception_reverse_collection,
)
from loyalty_platform.tiers.selectors import tier_data

REWARD = PathObject(
    missing=errors.REWARD_NOT_FOUND,
    parse=lambda raw: int(raw) if str(raw).isdigit() and len(str(raw)) < 19 else None,
    fetch=lambda pk: Reward.objects.filter(pk=pk, is_active=True).first(),
)
RECEPTION = PathObject(missing=errors.RECEPTION_NOT_FOUND, parse=parse_uuid)


class ReceptionRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    customer_code = s.CustomerCodeField()
    external_id = s.StrictCharField(max_length=128)
    pre_redeem = s.StrictBooleanField(required=False, default=False)


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
    points = card_balances(call.customer.pk).get(Program.Kind.POINT, 0)
    return reward_catalog(points=points)


class CustomerRewardsView(PosApiView):
    rate_limit_group = "customer"

    get = Query(
        operation_id="customer_rewards",
        summary="The reward catalog for a customer, cheapest first",
        path={"customer_code": CUSTOMER},
        response=CatalogEntryData,
        many=True,
        perform=catalog,
    )


def reception_check(call: Call) -> None:
    reward_reception_check(
        reward=call.path["reward_id"], customer=call.customer, pre_redeem=call.data["pre_redeem"]
    )


def reception_create(call: Call) -> RewardReception:
    return reward_reception_create(
        reward=call.path["reward_id"],
        customer=call.customer,
        pre_redeem=call.data["pre_redeem"],
        external_id=call.data["external_id"],
        api_key_lookup_id=call.api_key_lookup_id,
        pin_challenge_id=call.pin_challenge_id,
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
    post = Command(
        operation_id="reward_reception_create",
        summary="Give a customer a reward for points (or pre-redeem it to collect later)",
        path={"reward_id": REWARD},
        request=ReceptionRequest,
        response=ReceptionData,
        once="rewards/receptions",
        pin_action="redeem",
        check=reception_check,
        perform=reception_create,
        errors=(
            errors.CUSTOMER_NOT_FOUND,
            errors.PROGRAM_NOT_FOUND,
            errors.INSUFFICIENT_BALANCE,
            errors.PRE_REDEEM_NOT_ALLOWED,
        ),
        example_request={"customer_code": 482193, "external_id": "till-3-00195"},
        example=RECEPTION_EXAMPLE,
    )


def reception_reverse(call: Call) -> RewardReception:
    return reward_reception_reverse(
        reception_id=call.path["reception_id"],
        external_id=call.data["external_id"],
        api_key_lookup_id=call.api_key_lookup_id,
    )


def reception_collect(call: Call) -> RewardReception:
    return reward_reception_collect(reception_id=call.path["reception_id"])


def reception_reverse_collection(call: Call) -> RewardReception:
    return reward_reception_reverse_collection(reception_id=call.path["reception_id"])


class ReceptionReverseView(PosApiView):
    post = Command(
        operation_id="reward_reception_reverse",
        summary="Give the points back (once)",
        path={"reception_id": RECEPTION},
        request=ReverseReceptionRequest,
        response=ReceptionData,
        once="reward-receptions/reverse",
        perform=reception_reverse,
        errors=(errors.RECEPTION_NOT_REVERSIBLE,),
        example_request={"external_id": "till-3-00196"},
        example={**RECEPTION_EXAMPLE, "status": "reversed", "point_balance": 132},
    )


class ReceptionCollectView(PosApiView):
    post = Command(
        operation_id="reward_reception_collect",
        summary="Hand over a pre-redeemed reward",
        path={"reception_id": RECEPTION},
        request=ReceptionActionRequest,
        response=ReceptionData,
        once="reward-receptions/collect",
        perform=reception_collect,
        errors=(errors.RECEPTION_NOT_COLLECTABLE,),
        example_request={"external_id": "till-3-00197"},
        example={
            **RECEPTION_EXAMPLE,
            "status": "collected",
            "collected_at": "2026-12-02T08:30:00.000000+00:00",
        },
    )


class ReceptionReverseCollectionView(PosApiView):
    post = Command(
        operation_id="reward_reception_reverse_collection",
        summary="Make a collected reward collectable again",
        path={"reception_id": RECEPTION},
        request=ReceptionActionRequest,
        response=ReceptionData,
        once="reward-receptions/reverse-collection",
        perform=reception_reverse_collection,
        errors=(errors.RECEPTION_NOT_COLLECTED,),
        example_request={},
        example={**RECEPTION_EXAMPLE, "status": "collectable"},
    )


class WalletVoucherData(serializers.Serializer):
    code = serializers.CharField()
    promotion = serializers.CharField(source="promotion.title")
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
    points = serializers.IntegerField()
    points_worth = serializers.CharField(help_text="What the points pay, in the currency.")
    currency = serializers.CharField()
    stamps = serializers.IntegerField()
    tier = serializers.SerializerMethodField()
    coupons = WalletCouponData(many=True)
    vouchers = WalletVoucherData(many=True)
    collectable_rewards = ReceptionData(many=True)
    affordable_rewards = RewardData(many=True)

    def get_tier(self, wallet) -> dict | None:
        return tier_data(wallet.tier)


class WalletView(PosApiView):
    rate_limit_group = "customer"

    get = Query(
        operation_id="customer_wallet",
        summary="Balances, what the points are worth, coupons, collectable and affordable rewards",
        path={"customer_code": CUSTOMER},
        response=WalletData,
        perform=lambda call: customer_wallet(call.customer, currency=call.currency),
    )
