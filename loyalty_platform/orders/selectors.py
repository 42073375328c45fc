from django.core.cache import cache

from loyalty_platform.orders.models import EarningRule, Order

EARNING_RULES_CACHE_KEY = "orders:earning-rules"
_RULES_CACHE_SECONDS = 300


def active_earning_rules() -> list[EarningRule]:
    """Active rules (time windows are checked per order), cached per schema; orders.signals
    forgets them when a rule changes."""
    rules = cache.get(EARNING_RULES_CACHE_KEY)
    if rules is None:
        rules = list(EarningRule.objects.filter(is_active=True).order_by("pk"))
        cache.set(EARNING_RULES_CACHE_KEY, rules, _RULES_CACHE_SECONDS)
    return rules


def order_by_external_id(external_id: str) -> Order | None:
    return Order.objects.select_related("customer").filter(external_id=external_id).first()
