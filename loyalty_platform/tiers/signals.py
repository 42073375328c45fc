from loyalty_platform.core.schema_cache import forget_on_change
from loyalty_platform.tiers.models import Tier
from loyalty_platform.tiers.selectors import TIERS_CACHE_KEY

forget_on_change(Tier, TIERS_CACHE_KEY)
