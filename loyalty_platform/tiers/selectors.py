from loyalty_platform.core.schema_cache import schema_cached
from loyalty_platform.tiers.models import CustomerTier, Tier

TIERS_CACHE_KEY = "tiers:all"


def tiers_ascending() -> list[Tier]:
    """The organization's tiers, lowest threshold first, cached per schema (read-only);
    tiers.signals forgets them when a tier changes."""
    return schema_cached(TIERS_CACHE_KEY, lambda: list(Tier.objects.order_by("threshold_points")))


def tier_for_points(points: int, tiers: list[Tier]) -> Tier | None:
    reached = None
    for tier in tiers:
        if points >= tier.threshold_points:
            reached = tier
    return reached


def customer_tier(customer_id: int) -> Tier | None:
    """The tier last calculated for the customer (None while the organization has no tiers)."""
    tiers = tiers_ascending()
    if not tiers:
        return None
    tier_id = CustomerTier.objects.filter(customer_id=customer_id).values_list("tier_id", flat=True).first()
    return next((tier for tier in tiers if tier.pk == tier_id), None)


def tier_data(tier: Tier | None) -> dict | None:
    if tier is None:
        return None
    return {"name": tier.name, "points_multiplier": str(tier.points_multiplier)}
