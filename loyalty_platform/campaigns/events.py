"""What campaign triggers hear from the rest of the platform. The enrolling and purchasing
services call these inside their transactions; the work happens after commit, in Celery, so a
till's call pays for no campaign look-up beyond the cached running campaigns.
(Owned by the triggers: campaigns.triggers.)"""


def customer_enrolled(*, customer_id: int) -> None:
    """A customer joined (POS, profile, import)."""


def purchase_recorded(*, customer_id: int, external_id: str) -> None:
    """The customer earned at a till or an order named them (milestones, referrals)."""
