"""Rewards bought with points, and the customer's wallet, at the POS."""

import uuid

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.core.money import money_text
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
from loyalty_platform.profile.selectors import coupons_payload, points_worth
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import active_programs, card_balances
from loyalty_platform.rewards.models import Reward, RewardReception
from loyalty_platform.rewards.services import (
    reward_catalog,
    reward_reception_collect,
    reward_reception_create,
    reward_reception_reverse,
    reward_reception_reverse_collection,
)
from loyalty_platform.tiers.selectors import customer_tier, tier_data
from loyalty_platform.verification.services import manual_code_check
from loyalty_platform.vouchers.models import Voucher
from loyalty_platform.vouchers.services import voucher_refusal


class ReceptionRequest(s.VerificationFieldsMixin, s.PosRequestSerializer):
    customer_code = s.CustomerCodeField()
    external_id = s.StrictCharField(max_length=128)
    pre_redeem = s.StrictBooleanField(required=False, default=False)


class ReceptionActionRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128, required=False)


class ReverseReceptionRequest(s.PosRequestSerializer):
    external_id = s.StrictCharField(max_length=128)


def _reward_data(reward: Reward, request) -> dict:
    return {
        "id": reward.pk,
        "name": reward.name,
        "description": reward.description,
        "required_credits": reward.required_credits,
        "image": request.build_absolute_uri(reward.image.url) if reward.image else None,
        "pre_redeem_allowed": reward.allow_pre_redeem,
        "attributes": reward.attributes,
    }


def _reception_data(reception: RewardReception, request) -> dict:
    balances = card_balances(reception.customer_id)
    return {
        "id": str(reception.pk),
        "reward": _reward_data(reception.reward, request),
        "customer_code": reception.customer.customer_code,
        "points": reception.points,
        "status": reception.status,
        "created_at": reception.created_at.isoformat(),
        "collected_at": reception.collected_at.isoformat() if reception.collected_at else None,
        "point_balance": balances.get(Program.Kind.POINT, 0),
    }


def _reception_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise errors.RECEPTION_NOT_FOUND() from None


RECEPTION = inline_serializer(
    "RewardReception",
    fields={
        "id": serializers.UUIDField(),
        "reward": serializers.DictField(),
        "customer_code": serializers.IntegerField(),
        "points": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=RewardReception.Status.values),
        "created_at": serializers.DateTimeField(),
        "collected_at": serializers.DateTimeField(allow_null=True),
        "point_balance": serializers.IntegerField(),
    },
)


class CustomerRewardsView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="customer_rewards",
        summary="The reward catalog for a customer, cheapest first",
        responses={
            200: _envelope("RewardCatalog", serializers.ListField(child=serializers.DictField())),
            404: _errors("customer_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, customer_code: int):
        customer = _customer_or_404(customer_code)
        points = card_balances(customer.pk).get(Program.Kind.POINT, 0)
        return json_response(
            {
                "data": [
                    {
                        **_reward_data(entry.reward, request),
                        "affordable": entry.affordable,
                        "points_needed": entry.points_needed,
                    }
                    for entry in reward_catalog(points=points)
                ]
            }
        )


class ReceptionsView(PosApiView):
    @extend_schema(
        operation_id="reward_reception_create",
        summary="Give a customer a reward for points (or pre-redeem it to collect later)",
        request=ReceptionRequest,
        responses={
            200: _envelope("RewardReceived", RECEPTION),
            404: _errors("reward_not_found", "customer_not_found", "program_not_found"),
            422: _errors("insufficient_balance", "pre_redeem_not_allowed", *PIN_ERRORS, *BODY_ERRORS),
            409: _errors(*IDEMPOTENCY_ERRORS),
            402: _errors("subscription_required"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def post(self, request, reward_id: int):
        data = ReceptionRequest(data=request.data).validated()
        manual_code_check(organization=self.organization, manual_code=data["manual_code"])
        reward = Reward.objects.filter(pk=reward_id, is_active=True).first()
        if reward is None:
            raise errors.REWARD_NOT_FOUND()

        def perform(claim) -> HttpResponse:
            customer = _customer_or_404(data["customer_code"])
            challenge = self.verify_pin(customer=customer, action="redeem", data=data)

            def build() -> dict:
                reception = reward_reception_create(
                    reward=reward,
                    pin_challenge_id=challenge,
                    customer=customer,
                    pre_redeem=data["pre_redeem"],
                    external_id=data["external_id"],
                    api_key_lookup_id=request.auth.lookup_id,
                )
                return _reception_data(reception, request)

            return render_in_transaction(claim, build)

        return self.run_once(
            endpoint="rewards/receptions",
            external_id=data["external_id"],
            body={**request.data, "_path": {"reward_id": reward_id}},
            perform=perform,
        )


class ReceptionActionView(PosApiView):
    action = ""
    request_serializer = ReceptionActionRequest

    def perform_action(self, reception_id, data, request) -> RewardReception:
        raise NotImplementedError

    def post(self, request, reception_id: str):
        data = self.request_serializer(data=request.data).validated()
        pk = _reception_id(reception_id)

        return self.respond_once(
            endpoint=f"reward-receptions/{self.action}",
            external_id=data.get("external_id"),
            body={**request.data, "_path": {"reception_id": str(pk)}},
            build=lambda: _reception_data(self.perform_action(pk, data, request), request),
        )


ACTION_RESPONSES = {
    200: _envelope("RewardReceptionChanged", RECEPTION),
    404: _errors("reception_not_found"),
    409: _errors(
        "reception_not_reversible",
        "reception_not_collectable",
        "reception_not_collected",
        *IDEMPOTENCY_ERRORS,
    ),
    422: _errors(*BODY_ERRORS),
    402: _errors("subscription_required"),
    401: _errors(*AUTH_ERRORS),
}


class ReceptionReverseView(ReceptionActionView):
    action = "reverse"
    request_serializer = ReverseReceptionRequest

    @extend_schema(
        operation_id="reward_reception_reverse",
        summary="Give the points back (once)",
        request=ReverseReceptionRequest,
        responses=ACTION_RESPONSES,
    )
    def post(self, request, reception_id: str):
        return super().post(request, reception_id)

    def perform_action(self, reception_id, data, request) -> RewardReception:
        return reward_reception_reverse(
            reception_id=reception_id,
            external_id=data["external_id"],
            api_key_lookup_id=request.auth.lookup_id,
        )


class ReceptionCollectView(ReceptionActionView):
    action = "collect"

    @extend_schema(
        operation_id="reward_reception_collect",
        summary="Hand over a pre-redeemed reward",
        request=ReceptionActionRequest,
        responses=ACTION_RESPONSES,
    )
    def post(self, request, reception_id: str):
        return super().post(request, reception_id)

    def perform_action(self, reception_id, data, request) -> RewardReception:
        return reward_reception_collect(reception_id=reception_id)


class ReceptionReverseCollectionView(ReceptionActionView):
    action = "reverse-collection"

    @extend_schema(
        operation_id="reward_reception_reverse_collection",
        summary="Make a collected reward collectable again",
        request=ReceptionActionRequest,
        responses=ACTION_RESPONSES,
    )
    def post(self, request, reception_id: str):
        return super().post(request, reception_id)

    def perform_action(self, reception_id, data, request) -> RewardReception:
        return reward_reception_reverse_collection(reception_id=reception_id)


class WalletView(PosApiView):
    rate_limit_group = "customer"

    @extend_schema(
        operation_id="customer_wallet",
        summary="Balances, what the points are worth, coupons, collectable and affordable rewards",
        responses={
            200: _envelope("Wallet", serializers.DictField()),
            404: _errors("customer_not_found"),
            401: _errors(*AUTH_ERRORS),
        },
    )
    def get(self, request, customer_code: int):
        customer = _customer_or_404(customer_code)
        balances = card_balances(customer.pk)
        points = balances.get(Program.Kind.POINT, 0)
        point_program = active_programs().get(Program.Kind.POINT)
        currency = self.organization.currency
        collectable = RewardReception.objects.filter(
            customer=customer, status=RewardReception.Status.COLLECTABLE
        ).select_related("reward", "customer")
        affordable = [entry for entry in reward_catalog(points=points) if entry.affordable][:3]
        return json_response(
            {
                "data": {
                    "customer_code": customer.customer_code,
                    "points": points,
                    "points_worth": points_worth(points, point_program, currency)
                    if point_program
                    else money_text(0, currency),
                    "currency": currency,
                    "stamps": balances.get(Program.Kind.STAMP, 0),
                    "tier": tier_data(customer_tier(customer.pk)),
                    "coupons": coupons_payload(customer),
                    "vouchers": [
                        {
                            "code": v.code,
                            "promotion": v.promotion.title,
                            "attributes": v.promotion.attributes,
                            "uses_left": max(0, v.promotion.uses_per_voucher - v.uses),
                            "valid_until": v.promotion.valid_until.isoformat()
                            if v.promotion.valid_until
                            else None,
                        }
                        for v in Voucher.objects.filter(customer=customer, status=Voucher.Status.ACTIVE)
                        .select_related("promotion")
                        .order_by("pk")
                        if voucher_refusal(v, now=timezone.now()) is None
                    ],
                    "collectable_rewards": [_reception_data(r, request) for r in collectable],
                    "affordable_rewards": [_reward_data(entry.reward, request) for entry in affordable],
                }
            }
        )
