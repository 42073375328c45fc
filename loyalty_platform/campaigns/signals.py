from loyalty_platform.campaigns.models import Campaign, CampaignAction, Segment, SegmentRule
from loyalty_platform.campaigns.selectors import RUNNING_CAMPAIGNS_CACHE_KEY
from loyalty_platform.core.schema_cache import forget_on_change

for model in (Campaign, CampaignAction, Segment, SegmentRule):
    forget_on_change(model, RUNNING_CAMPAIGNS_CACHE_KEY)
