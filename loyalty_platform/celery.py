"""The Celery app. Tasks are tenant-aware: a task sent from inside an organization's schema
runs in that schema (tenant-schemas-celery carries the schema name in the message)."""

import logging.config
import os

from celery.schedules import crontab
from celery.signals import setup_logging
from django.conf import settings
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_platform.settings")

app = CeleryApp("loyalty_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _logging_from_settings(**kwargs) -> None:
    """The worker and beat log as the web processes do (settings.LOGGING), so the heartbeat
    filter applies; Celery's own set-up is skipped when this receiver exists."""
    logging.config.dictConfig(settings.LOGGING)


app.conf.beat_schedule = {
    "heartbeat": {"task": "loyalty_platform.core.tasks.heartbeat", "schedule": 30.0},
    # Idempotency records are kept at least 30 days (IDEMPOTENCY_KEEP_DAYS), then purged.
    "purge-idempotency-records": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 6 * 3600.0,
        "args": ["loyalty_platform.pos_api.tasks.purge_idempotency_records"],
    },
    # Tiers count a trailing period: points age out of it without any event.
    "recalculate-tiers": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 24 * 3600.0,
        "args": ["loyalty_platform.tiers.tasks.recalculate_tiers"],
    },
    # The dashboard's rollups of the last two finished days, after midnight (CELERY_TIMEZONE,
    # the same zone as the organizations' days); the dashboard reads unbuilt days live.
    "build-daily-rollups": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": crontab(hour=0, minute=30),
        "args": ["loyalty_platform.reports.tasks.build_daily_rollups"],
    },
    # Organizations whose deletion grace period ended and whose export is built.
    "purge-due-organizations": {"task": "tenants.tasks.purge_due_organizations", "schedule": 3600.0},
    # Sign-ups never confirmed, a week after their link expired (their password hash with them).
    "purge-signup-requests": {"task": "tenants.tasks.purge_signup_requests", "schedule": 24 * 3600.0},
    # Usage metering: the Redis counters into the database, and each organization's customers
    # and storage measured near the end of the UTC day (tenants.usage).
    "flush-usage": {"task": "tenants.tasks.flush_usage", "schedule": 300.0},
    "measure-usage": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": crontab(hour=23, minute=50),
        "args": ["tenants.tasks.measure_usage"],
    },
    # Campaigns: runs open and close on their schedules, grants and messages go out in chunks.
    "campaigns-tick": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 60.0,
        "args": ["loyalty_platform.campaigns.tasks.campaigns_tick"],
    },
    # Birthday and win-back triggers look at the calendar once an hour (each run is per day).
    "campaign-triggers": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 3600.0,
        "args": ["loyalty_platform.campaigns.tasks.campaign_triggers_daily"],
    },
    # Expiry (docs/decisions/0043-point-expiry.md): points whose lot or card expired, within
    # the hour of their date; the warnings before it, once per batch of lots.
    # Outgoing webhooks: retries that fell due and anything a lost kick left (a commit that
    # recorded events queues the organization's delivery task itself).
    "deliver-webhooks": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 60.0,
        "args": ["loyalty_platform.webhooks.tasks.deliver_webhooks"],
    },
    "expire-points": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 3600.0,
        "args": ["loyalty_platform.programs.tasks.expire_points"],
    },
    "warn-points-expiry": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 3600.0,
        "args": ["loyalty_platform.programs.tasks.warn_points_expiry"],
    },
    # Statuses that age: coupons and vouchers past their validity become expired, voucher
    # locks past their time are released, uncollected reward receptions give their points back.
    "expire-coupons": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 900.0,
        "args": ["loyalty_platform.coupons.tasks.expire_coupons"],
    },
    "age-vouchers": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 300.0,
        "args": ["loyalty_platform.vouchers.tasks.age_vouchers"],
    },
    "expire-reward-receptions": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 3600.0,
        "args": ["loyalty_platform.rewards.tasks.expire_reward_receptions"],
    },
    # Clean-up of what only lives for a while (PIN challenges, login links, QR sessions,
    # invitations, receipt claims, rate-limit leftovers), after its retention (README).
    "purge-expired-records": {
        "task": "loyalty_platform.core.tasks.dispatch_to_organizations",
        "schedule": 3600.0,
        "args": ["loyalty_platform.core.tasks.purge_expired_records"],
    },
    # The public schema's short-lived records (portal sign-in links) after their retention.
    "purge-platform-records": {"task": "tenants.tasks.purge_platform_records", "schedule": 24 * 3600.0},
    # Owners hear before their subscription lapses and when it has.
    "notify-subscription-lapses": {"task": "tenants.tasks.notify_subscription_lapses", "schedule": 3600.0},
}
