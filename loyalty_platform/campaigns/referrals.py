"""Referrals: each customer's personal link, and the friends who enrolled through one.
What a referral earns is the referral campaign's (campaigns.triggers.trigger_referral)."""

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_platform.campaigns.models import Campaign, Referral, ReferralLink
from loyalty_platform.campaigns.selectors import campaigns_on_at
from loyalty_platform.core import errors
from loyalty_platform.customers.models import Customer

_CODE_BYTES = 12  # 16 URL-safe characters, 96 random bits
_CODE_ATTEMPTS = 5
CODE_MAX_LENGTH = ReferralLink._meta.get_field("code").max_length


def referral_campaign_running() -> bool:
    """Whether customers are invited to share their link now (cached: no query)."""
    return any(
        campaign.trigger == Campaign.Trigger.REFERRAL for campaign, _ in campaigns_on_at(timezone.now())
    )


def referral_link_for(*, customer: Customer) -> ReferralLink:
    """The customer's link, made on first need with a random, unguessable code."""
    link = ReferralLink.objects.filter(customer=customer).first()
    if link is not None:
        return link
    for _ in range(_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return ReferralLink.objects.create(customer=customer, code=secrets.token_urlsafe(_CODE_BYTES))
        except IntegrityError:
            # Made by a concurrent request for the same customer (or, hardly ever, a code taken).
            link = ReferralLink.objects.filter(customer=customer).first()
            if link is not None:
                return link
    raise RuntimeError("could not draw a free referral code")


def referral_link_by_code(code: str) -> ReferralLink | None:
    """The link with this code in the current organization's schema, of an active customer,
    or None."""
    if not code or len(code) > CODE_MAX_LENGTH:
        return None
    return (
        ReferralLink.objects.select_related("customer")
        .filter(code=code, customer__status=Customer.Status.ACTIVE)
        .first()
    )


def referral_record(*, code: str, friend: Customer, friend_is_new: bool) -> Referral:
    """Record that `friend` enrolled through the link `code`. Refused: an unknown code
    (referral_not_found), the link's own customer (referral_self), a friend who was a member
    before or was referred already (referral_friend_taken); a refusal records nothing."""
    link = referral_link_by_code(code)
    if link is None:
        raise errors.REFERRAL_NOT_FOUND()
    if link.customer_id == friend.pk:
        raise errors.REFERRAL_SELF()
    if not friend_is_new:
        raise errors.REFERRAL_FRIEND_TAKEN()
    try:
        with transaction.atomic():
            return Referral.objects.create(referrer_id=link.customer_id, friend=friend)
    except IntegrityError:  # Referral.friend is unique: referred before
        raise errors.REFERRAL_FRIEND_TAKEN() from None
