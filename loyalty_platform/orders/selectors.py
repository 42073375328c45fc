from loyalty_platform.core.schema_cache import schema_cached
from loyalty_platform.orders.models import EarningRule, Order

EARNING_RULES_CACHE_KEY = "orders:earning-rules"


def active_earning_rules() -> list[EarningRule]:
    """Active rules (time windows are checked per order), cached per schema (read-only);
    orders.signals forgets them when a rule changes."""
    return schema_cached(
        EARNING_RULES_CACHE_KEY, lambda: list(EarningRule.objects.filter(is_active=True).order_by("pk"))
    )


def order_by_external_id(external_id: str) -> Order | None:
    return Order.objects.select_related("customer").filter(external_id=external_id).first()
