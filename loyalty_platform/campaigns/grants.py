"""Handing out what a campaign grants: each customer at most once per run and action.
(Foundation: points, one customer at a time. The runner's chunked, bulk path follows.)"""

from django.db import connection, transaction

from loyalty_platform.campaigns.models import CampaignAction, CampaignGrant, CampaignRun
from loyalty_platform.programs.models import LedgerEntry, Program
from loyalty_platform.programs.selectors import active_program
from loyalty_platform.programs.services import balance_updated_publish, card_get_or_create_locked, ledger_post

_CLAIM_SQL = (
    f"INSERT INTO {CampaignGrant._meta.db_table} "  # noqa: S608
    "(run_id, action_id, customer_id, points, stamps, created_at) VALUES (%s, %s, %s, 0, 0, now()) "
    "ON CONFLICT (run_id, action_id, customer_id) DO NOTHING RETURNING id"
)


def _claim(run: CampaignRun, action: CampaignAction, customer_id: int) -> int | None:
    """The new grant row's id, or None when this customer had it from this run before. The
    row is inserted first: a second worker waits on the unique index, then finds it taken."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [run.pk, action.pk, customer_id])
        row = cursor.fetchone()
    return row[0] if row else None


def grant_to_customers(*, run: CampaignRun, action: CampaignAction, customer_ids: list[int]) -> int:
    """Grant `action` to each customer who has not had it from `run`; returns how many got it."""
    if action.kind != CampaignAction.Kind.GRANT_POINTS:
        raise NotImplementedError(action.kind)
    program = active_program(Program.Kind.POINT)
    if program is None:
        return 0
    granted = 0
    for customer_id in customer_ids:
        with transaction.atomic():
            grant_id = _claim(run, action, customer_id)
            if grant_id is None:
                continue
            card = card_get_or_create_locked(customer_id=customer_id, program=program)
            entry = ledger_post(
                card=card,
                delta=action.points,
                cause=LedgerEntry.Cause.CAMPAIGN,
                external_id=f"campaign-{run.campaign_id}-{run.key}"[:128],
                note=f"campaign: {run.campaign.name}"[:255],
            )
            CampaignGrant.objects.filter(pk=grant_id).update(points=action.points, ledger_entry=entry)
            balance_updated_publish(customer_id=customer_id)
            granted += 1
    return granted
