"""What the customer's PIN box says the cashier asks for, from the call that asks (the
summary of a PIN challenge: verification.services.pin_challenge_issue)."""

from decimal import Decimal

from django.utils.translation import gettext, ngettext

from loyalty_platform.core.money import money_amount, money_text
from loyalty_platform.pos_api.endpoints import Call


def points_or_stamps(count: int, card_type: str) -> str:
    if card_type == "stamp":
        return ngettext("%(count)s stamp", "%(count)s stamps", count) % {"count": count}
    return ngettext("%(count)s point", "%(count)s points", count) % {"count": count}


def collect_stamps_summary(stamps: int) -> str:
    return gettext("Collect %(stamps)s") % {"stamps": points_or_stamps(stamps, "stamp")}


def collect_points_summary(amount: Decimal, currency: str) -> str:
    return gettext("Collect points for %(amount)s %(currency)s") % {
        "amount": money_text(amount, currency),
        "currency": currency,
    }


def redeem_points_summary(points: int) -> str:
    return gettext("Redeem %(value)s") % {"value": points_or_stamps(points, "point")}


def earn_summary(call: Call) -> str:
    if call.data["card_type"] == "stamp":
        return collect_stamps_summary(int(call.data["amount"]))
    return collect_points_summary(call.data["amount"], call.currency)


def redeem_summary(call: Call) -> str:
    value = points_or_stamps(call.data["value"], call.data["card_type"])
    return gettext("Redeem %(value)s") % {"value": value}


def coupon_summary(call: Call) -> str:
    return gettext("Use your coupon: %(name)s") % {"name": call.extra["coupon"].name}


def reward_summary(call: Call) -> str:
    reward = call.path["reward_id"]
    return gettext("Redeem %(points)s for %(reward)s") % {
        "points": points_or_stamps(reward.required_credits, "point"),
        "reward": reward.name,
    }


def prepaid_summary(call: Call) -> str:
    return gettext("Pay %(amount)s %(currency)s with your credit") % {
        "amount": money_text(abs(money_amount(call.data["amount"], call.currency)), call.currency),
        "currency": call.currency,
    }


def order_summary(call: Call) -> str:
    paid = call.data["paid_with_points"]
    if paid:
        return gettext("Pay %(points)s towards order %(order)s") % {
            "points": points_or_stamps(paid, "point"),
            "order": call.data["external_id"],
        }
    return gettext("Collect points for order %(order)s") % {"order": call.data["external_id"]}
