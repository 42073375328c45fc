"""Games: the organization's stamp program as the Shop API's "stamp_card" game.

A game id is the program's id; only the active stamp program is a game (one at most), so
another organization's id, an inactive program or a point program is game_not_found. A
`card_id` names a customer by any card of theirs (customers.selectors.customer_by_card_id).
Progress is the stamps on the customer's card against the program's stamps per card; the
earn that fills a card turns it into a coupon (coupons.Coupon) at once, so the reward of a
completed card is a coupon waiting to be used.

The work is the POS API's: add-stamps is customer_earn with card_type stamp (campaign bonus
stamps, the balance event, stamps.earned, coupons of full cards), complete is
stamp_card_complete, restart is stamp_card_reset (an adjustment entry with an audit record).
The SDK sends no idempotency key with add-stamps: each call adds stamps (an `external_id`
in the body, an extension, makes retries replay the first answer).
"""

import uuid
from dataclasses import dataclass

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty_platform.core import errors
from loyalty_platform.coupons.models import Coupon
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.selectors import customer_by_card_id
from loyalty_platform.pos_api import pin_summaries
from loyalty_platform.pos_api import serializers as s
from loyalty_platform.pos_api.endpoints import Call, PathObject
from loyalty_platform.pos_api.output import IsoDateTimeField, campaign_shares_field
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.programs.selectors import StampCardProgress, active_program, stamp_card_progress
from loyalty_platform.programs.services import (
    BalanceChange,
    StampCardCompletion,
    customer_earn,
    customer_earn_check,
    stamp_card_complete,
    stamp_card_reset,
    stamp_card_reset_check,
)
from loyalty_platform.shop_api.wire import (
    PageParams,
    ShopApiView,
    ShopCommand,
    ShopParams,
    ShopQuery,
    id_field,
    paginate,
)
from loyalty_platform.shops.selectors import open_shop

GAME_TYPE = "stamp_card"
# The game types the SDK names; here every game is a stamp card, the other types find none.
GAME_TYPES = (GAME_TYPE, "slot_machine", "wheel_of_fortune", "scratch_card", "memory", "quiz", "puzzle")
# Coupon statuses in the SDK's words.
COUPON_STATUS = {
    Coupon.Status.ACTIVE: "active",
    Coupon.Status.REDEEMED: "redeemed",
    Coupon.Status.EXPIRED: "expired",
    Coupon.Status.VOID: "cancelled",
}
HISTORY_LIMIT = 100
MAX_ID_DIGITS = 18


def parse_id(raw: object) -> int | None:
    text = str(raw)
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
        return None
    return int(text) or None


def active_game(game_id: int) -> Program | None:
    program = active_program(Program.Kind.STAMP)
    return program if program is not None and program.pk == game_id else None


GAME = PathObject(missing=errors.GAME_NOT_FOUND, parse=parse_id, fetch=active_game)
# The customer whose card the path names.
CARD = PathObject(missing=errors.CARD_NOT_FOUND, parse=parse_id, fetch=customer_by_card_id)


def card_customer(card_id: int) -> Customer:
    customer = customer_by_card_id(card_id)
    if customer is None:
        raise errors.CARD_NOT_FOUND()
    return customer


def reward_name(program: Program) -> str:
    return program.reward_name or program.name  # the name its coupons take (coupon_issue)


def coupon_status(coupon: Coupon) -> str:
    """The status a till meets: an active coupon past its date is expired already."""
    if coupon.status == Coupon.Status.ACTIVE and coupon.expires_at and coupon.expires_at <= timezone.now():
        return COUPON_STATUS[Coupon.Status.EXPIRED]
    return COUPON_STATUS[coupon.status]


# --- Output ---------------------------------------------------------------------------------


class GameCouponData(serializers.Serializer):
    """A coupon a full card issued."""

    id = serializers.UUIDField()
    code = serializers.CharField(
        source="qr_token", help_text="The coupon's cq_ QR token, which a till redeems."
    )
    name = serializers.CharField()
    status = serializers.SerializerMethodField()
    issued_at = IsoDateTimeField()
    expires_at = IsoDateTimeField(allow_null=True)
    redeemed_at = IsoDateTimeField(allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=sorted(set(COUPON_STATUS.values()))))
    def get_status(self, coupon: Coupon) -> str:
        return coupon_status(coupon)


def coupons_data(coupons) -> list:
    return GameCouponData(coupons, many=True).data


class GameData(serializers.Serializer):
    """A stamp program in the fields of the SDK's Game."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(help_text="Empty: a stamp program has no description.")
    type = serializers.ChoiceField(choices=[GAME_TYPE])
    image = serializers.CharField(allow_null=True, help_text="Always null.")
    is_active = serializers.BooleanField()
    is_featured = serializers.BooleanField(help_text="Always false.")
    categories = serializers.ListField(child=serializers.CharField(), help_text="Always empty.")
    points_cost = serializers.IntegerField(allow_null=True, help_text="Always null: stamps cost nothing.")
    daily_limit = serializers.IntegerField(allow_null=True, help_text="Always null.")
    total_limit = serializers.IntegerField(allow_null=True, help_text="Always null.")
    min_score_for_reward = serializers.IntegerField(help_text="The stamps that fill a card.")
    total_steps = serializers.IntegerField(help_text="The stamps that fill a card.")
    rewards = serializers.ListField(
        child=serializers.DictField(), help_text="One: the coupon a full card issues (type coupon)."
    )
    game_config = serializers.DictField(help_text="stamps_per_card, reward_name, coupon_valid_days.")
    instructions = serializers.CharField(help_text="Empty.")
    created_at = IsoDateTimeField()
    updated_at = IsoDateTimeField(help_text="The program's creation time: it keeps no time of change.")

    def to_representation(self, program: Program) -> dict:
        per_card = program.stamps_per_card
        return {
            "id": program.pk,
            "name": program.name,
            "description": "",
            "type": GAME_TYPE,
            "image": None,
            "is_active": program.is_active,
            "is_featured": False,
            "categories": [],
            "points_cost": None,
            "daily_limit": None,
            "total_limit": None,
            "min_score_for_reward": per_card,
            "total_steps": per_card,
            "rewards": [
                {
                    "type": "coupon",
                    "name": reward_name(program),
                    "steps_required": per_card,
                    "valid_days": program.coupon_valid_days,
                }
            ],
            "game_config": {
                "stamps_per_card": per_card,
                "reward_name": reward_name(program),
                "coupon_valid_days": program.coupon_valid_days,
            },
            "instructions": "",
            "created_at": program.created_at.isoformat(),
            "updated_at": program.created_at.isoformat(),
        }


class ProgressData(serializers.Serializer):
    """A customer's progress in a game."""

    game_id = serializers.IntegerField()
    card_id = serializers.IntegerField(
        allow_null=True, help_text="The stamp card; null before the first stamp."
    )
    user_id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=[GAME_TYPE])
    current_step = serializers.IntegerField(help_text="Stamps on the card.")
    total_steps = serializers.IntegerField(help_text="Stamps that fill a card.")
    stamps_remaining = serializers.IntegerField()
    is_completed = serializers.BooleanField(
        help_text="A full card's reward waits to be taken (complete answers it): a coupon not "
        "used yet. A card that fills becomes a coupon at once, so current_step stays below "
        "total_steps."
    )
    completed_cards = serializers.IntegerField(
        help_text="Cards filled so far (coupons issued, not cancelled)."
    )
    reward = serializers.DictField(help_text="name, coupons_waiting and the waiting coupons, oldest first.")
    updated_at = IsoDateTimeField(allow_null=True)

    def to_representation(self, progress: StampCardProgress) -> dict:
        program, card = progress.program, progress.card
        return {
            "game_id": program.pk,
            "card_id": card.pk if card is not None else None,
            "user_id": progress.customer_id,
            "type": GAME_TYPE,
            "current_step": progress.stamps,
            "total_steps": program.stamps_per_card,
            "stamps_remaining": max(program.stamps_per_card - progress.stamps, 0),
            "is_completed": progress.reward_waiting,
            "completed_cards": progress.completed,
            "reward": {
                "name": reward_name(program),
                "coupons_waiting": len(progress.waiting),
                "coupons": coupons_data(progress.waiting),
            },
            "updated_at": card.updated_at.isoformat() if card is not None else None,
        }


@dataclass(frozen=True)
class GameAndProgress:
    program: Program
    progress: StampCardProgress | None = None


class GameWithProgressData(GameData):
    progress = ProgressData(required=False, help_text="With card_id: the customer's progress.")

    def to_representation(self, game: GameAndProgress) -> dict:
        data = super().to_representation(game.program)
        if game.progress is not None:
            data["progress"] = ProgressData(game.progress).data
        return data


@dataclass(frozen=True)
class StampsAdded:
    program: Program
    customer: Customer
    change: BalanceChange
    transaction_id: str


class StampsAddedData(serializers.Serializer):
    game_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=[GAME_TYPE])
    stamps_added = serializers.IntegerField(help_text="stamps_count plus campaign bonus stamps.")
    current_step = serializers.IntegerField(help_text="Stamps on the card after the call.")
    total_steps = serializers.IntegerField()
    stamps_remaining = serializers.IntegerField()
    is_completed = serializers.BooleanField(help_text="This call filled a card (its coupon is in reward).")
    cards_completed = serializers.IntegerField(
        help_text="Cards this call filled (bonus stamps may fill two)."
    )
    reward = serializers.DictField(help_text="name and the coupons this call issued (empty: none).")
    transaction_id = serializers.CharField(
        help_text="The ledger entry's external_id (the body's, or a new one): the POS API's "
        "/webhook/transactions/<id>/reverse undoes the call."
    )
    campaigns = campaign_shares_field()

    def to_representation(self, added: StampsAdded) -> dict:
        program, change = added.program, added.change
        data = {
            "game_id": program.pk,
            "card_id": change.card.pk,
            "user_id": added.customer.pk,
            "type": GAME_TYPE,
            "stamps_added": change.applied,
            "current_step": change.stamps,
            "total_steps": program.stamps_per_card,
            "stamps_remaining": max(program.stamps_per_card - change.stamps, 0),
            "is_completed": bool(change.coupons),
            "cards_completed": len(change.coupons),
            "reward": {"name": reward_name(program), "coupons": coupons_data(change.coupons)},
            "transaction_id": added.transaction_id,
        }
        if change.campaigns:
            data["campaigns"] = self.fields["campaigns"].to_representation(change.campaigns)
        return data


@dataclass(frozen=True)
class Completed:
    program: Program
    customer: Customer
    completion: StampCardCompletion


class CompletedData(serializers.Serializer):
    game_id = serializers.IntegerField()
    card_id = serializers.IntegerField(allow_null=True)
    user_id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=[GAME_TYPE])
    is_completed = serializers.BooleanField(help_text="Always true (else game_not_completed).")
    current_step = serializers.IntegerField()
    total_steps = serializers.IntegerField()
    coupons_issued = serializers.IntegerField(
        help_text="Coupons this call issued: 0 unless the card held a full card's stamps that "
        "had not become one (the stamps per card lowered since)."
    )
    reward = serializers.DictField(help_text="name and the waiting coupons, oldest first.")

    def to_representation(self, completed: Completed) -> dict:
        program, completion = completed.program, completed.completion
        card = completion.card
        return {
            "game_id": program.pk,
            "card_id": card.pk if card is not None else None,
            "user_id": completed.customer.pk,
            "type": GAME_TYPE,
            "is_completed": True,
            "current_step": card.balance if card is not None else 0,
            "total_steps": program.stamps_per_card,
            "coupons_issued": len(completion.issued),
            "reward": {"name": reward_name(program), "coupons": coupons_data(completion.waiting)},
        }


@dataclass(frozen=True)
class Restarted:
    program: Program
    customer: Customer
    entry: LedgerEntry


class RestartedData(serializers.Serializer):
    game_id = serializers.IntegerField()
    card_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=[GAME_TYPE])
    current_step = serializers.IntegerField(help_text="0.")
    total_steps = serializers.IntegerField()
    stamps_removed = serializers.IntegerField(help_text="The stamps the card held.")

    def to_representation(self, restarted: Restarted) -> dict:
        entry = restarted.entry
        return {
            "game_id": restarted.program.pk,
            "card_id": entry.card_id,
            "user_id": restarted.customer.pk,
            "type": GAME_TYPE,
            "current_step": entry.balance_after,
            "total_steps": restarted.program.stamps_per_card,
            "stamps_removed": -entry.delta,
        }


class GameHistoryData(serializers.Serializer):
    """A finished card: the coupon it issued."""

    id = serializers.UUIDField(help_text="The coupon's id.")
    user_id = serializers.IntegerField()
    game_id = serializers.IntegerField()
    game_name = serializers.CharField()
    type = serializers.ChoiceField(choices=[GAME_TYPE])
    status = serializers.ChoiceField(choices=["completed"])
    total_steps = serializers.IntegerField(help_text="The program's stamps per card now.")
    completed_at = IsoDateTimeField()
    reward = serializers.DictField(help_text="name and coupon (its status says whether it was used).")

    def to_representation(self, coupon: Coupon) -> dict:
        program = coupon.program
        return {
            "id": str(coupon.pk),
            "user_id": coupon.customer_id,
            "game_id": program.pk,
            "game_name": program.name,
            "type": GAME_TYPE,
            "status": "completed",
            "total_steps": program.stamps_per_card,
            "completed_at": coupon.issued_at.isoformat(),
            "reward": {"name": coupon.name, "coupon": GameCouponData(coupon).data},
        }


# --- Input ----------------------------------------------------------------------------------


class GamesParams(PageParams):
    shop_id = id_field()
    type = serializers.ChoiceField(choices=GAME_TYPES, required=False)


class GameParams(ShopParams):
    card_id = id_field(required=False)


class ProgressParams(ShopParams):
    card_id = id_field()


class CardGamesParams(ShopParams):
    shop_id = id_field(required=False)


class PinFields(serializers.Serializer):
    """Extensions (the SDK sends neither): where the organization's verification preset asks
    the customer's PIN, a call without it is refused with pin_required and its challenge_id."""

    verification_pin = s.StrictCharField(required=False, max_length=12)
    challenge_id = serializers.UUIDField(required=False)


class AddStampsRequest(PinFields, s.PosRequestSerializer):
    card_id = id_field()
    shop_id = id_field()
    stamps_count = s.StrictIntegerField(required=False, default=1, min_value=1, max_value=2**31 - 1)
    external_id = s.StrictCharField(
        required=False, max_length=128, help_text="Extension: an idempotency key (the SDK sends none)."
    )


class CompleteRequest(s.PosRequestSerializer):
    card_id = id_field()


class RestartRequest(PinFields, s.PosRequestSerializer):
    card_id = id_field()
    shop_id = id_field()


# --- Operations -----------------------------------------------------------------------------


def games_list(call: Call):
    open_shop(call.data["shop_id"])
    program = active_program(Program.Kind.STAMP)
    games = [program] if program is not None and call.data.get("type", GAME_TYPE) == GAME_TYPE else []
    return paginate(games, call.data)


def progress_of(program: Program, customer: Customer) -> StampCardProgress:
    return stamp_card_progress(customer_id=customer.pk, program=program)


def game_detail(call: Call) -> GameAndProgress:
    program = call.path["game_id"]
    if "card_id" not in call.data:
        return GameAndProgress(program)
    return GameAndProgress(program, progress_of(program, card_customer(call.data["card_id"])))


def game_progress(call: Call) -> StampCardProgress:
    return progress_of(call.path["game_id"], card_customer(call.data["card_id"]))


def card_games(call: Call) -> list[GameAndProgress]:
    if call.data.get("shop_id") is not None:
        open_shop(call.data["shop_id"])
    program = active_program(Program.Kind.STAMP)
    return (
        [GameAndProgress(program, progress_of(program, call.path["card_id"]))] if program is not None else []
    )


def card_games_history(call: Call) -> list[Coupon]:
    if call.data.get("shop_id") is not None:
        open_shop(call.data["shop_id"])
    coupons = Coupon.objects.filter(customer=call.path["card_id"], program__kind=Program.Kind.STAMP)
    return list(coupons.select_related("program").order_by("-issued_at", "-pk")[:HISTORY_LIMIT])


def add_stamps_check(call: Call) -> None:
    program = call.path["game_id"]
    customer = card_customer(call.data["card_id"])
    open_shop(call.data["shop_id"])
    if call.data["stamps_count"] > program.stamps_per_card:
        raise errors.STAMPS_COUNT_INVALID(field="stamps_count", max=program.stamps_per_card)
    customer_earn_check(
        customer=customer,
        amount=call.data["stamps_count"],
        card_type=Program.Kind.STAMP,
        read_card=call.pin_step,
    )
    call.extra["customer"] = customer


def add_stamps(call: Call) -> StampsAdded:
    program, customer = call.path["game_id"], call.extra["customer"]
    external_id = call.data.get("external_id") or f"shop-stamps-{uuid.uuid4().hex}"
    change = customer_earn(
        customer=customer,
        amount=call.data["stamps_count"],
        card_type=Program.Kind.STAMP,
        external_id=external_id,
        api_key_lookup_id=call.api_key_lookup_id,
        pin_challenge_id=call.pin_challenge_id,
        shop_id=call.data["shop_id"],
    )
    if change.card.program_id != program.pk:
        # Staff made another stamp program the active one meanwhile: this game is gone, and
        # the refusal rolls the earn back.
        raise errors.GAME_NOT_FOUND()
    return StampsAdded(program=program, customer=customer, change=change, transaction_id=external_id)


def complete_check(call: Call) -> None:
    call.extra["customer"] = card_customer(call.data["card_id"])


def complete(call: Call) -> Completed:
    program, customer = call.path["game_id"], call.extra["customer"]
    completion = stamp_card_complete(
        customer=customer, program=program, api_key_lookup_id=call.api_key_lookup_id
    )
    return Completed(program=program, customer=customer, completion=completion)


def restart_check(call: Call) -> None:
    customer = card_customer(call.data["card_id"])
    open_shop(call.data["shop_id"])
    stamp_card_reset_check(customer=customer, program=call.path["game_id"])
    call.extra["customer"] = customer


def restart(call: Call) -> Restarted:
    program, customer = call.path["game_id"], call.extra["customer"]
    entry = stamp_card_reset(
        customer=customer,
        program=program,
        api_key_lookup_id=call.api_key_lookup_id,
        shop_id=call.data["shop_id"],
        pin_challenge_id=call.pin_challenge_id,
    )
    return Restarted(program=program, customer=customer, entry=entry)


def the_named_customer(call: Call) -> Customer:
    return call.extra["customer"]


BLOCKED = (errors.CUSTOMER_BLOCKED, errors.CARD_BLOCKED)


class GamesView(ShopApiView):
    get = ShopQuery(
        "shop_games_list", GameData, games_list, params=GamesParams, errors=(errors.SHOP_NOT_FOUND,)
    )


class GameDetailView(ShopApiView):
    path = {"game_id": GAME}
    get = ShopQuery(
        "shop_games_get",
        GameWithProgressData,
        game_detail,
        params=GameParams,
        errors=(errors.GAME_NOT_FOUND, errors.CARD_NOT_FOUND),
    )


class GameProgressView(ShopApiView):
    path = {"game_id": GAME}
    get = ShopQuery(
        "shop_games_progress",
        ProgressData,
        game_progress,
        params=ProgressParams,
        errors=(errors.GAME_NOT_FOUND, errors.CARD_NOT_FOUND),
    )


class AddStampsView(ShopApiView):
    path = {"game_id": GAME}
    post = ShopCommand(
        "shop_games_add_stamps",
        AddStampsRequest,
        StampsAddedData,
        add_stamps,
        once="shop/games/add-stamps",
        pin_action="earn",
        pin_summary=lambda call: pin_summaries.collect_stamps_summary(call.data["stamps_count"]),
        check=add_stamps_check,
        pin_customer=the_named_customer,
        errors=(
            errors.GAME_NOT_FOUND,
            errors.CARD_NOT_FOUND,
            errors.SHOP_NOT_FOUND,
            errors.STAMPS_COUNT_INVALID,
            errors.BALANCE_LIMIT_EXCEEDED,
            *BLOCKED,
        ),
    )


class CompleteView(ShopApiView):
    path = {"game_id": GAME}
    post = ShopCommand(
        "shop_games_complete",
        CompleteRequest,
        CompletedData,
        complete,
        check=complete_check,
        errors=(errors.GAME_NOT_FOUND, errors.CARD_NOT_FOUND, errors.GAME_NOT_COMPLETED, *BLOCKED),
    )


class RestartView(ShopApiView):
    path = {"game_id": GAME}
    post = ShopCommand(
        "shop_games_restart",
        RestartRequest,
        RestartedData,
        restart,
        pin_action="adjust",
        check=restart_check,
        pin_customer=the_named_customer,
        errors=(
            errors.GAME_NOT_FOUND,
            errors.CARD_NOT_FOUND,
            errors.SHOP_NOT_FOUND,
            errors.GAME_PROGRESS_EMPTY,
            *BLOCKED,
        ),
    )


class CardGamesView(ShopApiView):
    path = {"card_id": CARD}
    get = ShopQuery(
        "shop_card_games",
        GameWithProgressData,
        card_games,
        params=CardGamesParams,
        many=True,
        errors=(errors.CARD_NOT_FOUND, errors.SHOP_NOT_FOUND),
    )


class CardGamesHistoryView(ShopApiView):
    path = {"card_id": CARD}
    get = ShopQuery(
        "shop_card_games_history",
        GameHistoryData,
        card_games_history,
        params=CardGamesParams,
        many=True,
        errors=(errors.CARD_NOT_FOUND, errors.SHOP_NOT_FOUND),
    )
