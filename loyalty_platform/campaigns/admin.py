# Each part of the campaigns portal lives in its own module; importing them registers them.
from loyalty_platform.campaigns import campaign_admin, referral_admin, segment_admin  # noqa: F401
