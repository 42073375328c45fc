"""The event types of outgoing webhooks. docs/webhooks.md documents each one's `data`."""

from django.utils.translation import gettext_lazy as _

EVENT_TYPES: dict[str, str] = {
    "customer.enrolled": _("A customer joined (till, profile or import)."),
    "customer.updated": _("A customer's details or consents changed."),
    "customer.blocked": _("A customer or one of their cards was blocked or unblocked."),
    "points.earned": _("Points were added: a purchase, an order or a campaign."),
    "points.redeemed": _("Points were spent at a till or on an order."),
    "points.expired": _("Points expired by the program's rule."),
    "points.adjusted": _("Staff corrected a point balance."),
    "stamps.earned": _("Stamps were added to a stamp card."),
    "coupon.issued": _("A coupon was issued (a full stamp card, a campaign)."),
    "coupon.redeemed": _("A coupon was used."),
    "voucher.redeemed": _("A voucher was redeemed."),
    "reward.received": _("A customer received a reward for points."),
    "tier.changed": _("A customer moved to another tier."),
    "order.created": _("An order was recorded."),
    "order.returned": _("Lines of an order were returned."),
    "giftcard.transaction": _("A giftcard was loaded, spent or refunded."),
    "prepaid.transaction": _("A prepaid account was topped up, spent or refunded."),
    "transaction.reversed": _("A till transaction was reversed."),
}

# Sent only by "Send test event" in the portal, to that one endpoint.
TEST_EVENT_TYPE = "webhook.test"
