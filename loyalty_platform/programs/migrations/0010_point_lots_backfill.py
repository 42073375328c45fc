"""Lots for the points cards already hold: each balance is backed by its newest positive
entries (spending takes the oldest first, so those are what is left), none expiring: every
program starts with points_expiry "never"."""

from django.db import migrations

BACKFILL = """
INSERT INTO programs_pointlot (card_id, entry_id, points, remaining, expired, earned_at, expires_at)
SELECT card_id, id, take, take, 0, created_at, NULL FROM (
    SELECT entry.card_id, entry.id, entry.created_at,
           LEAST(entry.delta, card.balance - (SUM(entry.delta) OVER newest - entry.delta)) AS take
    FROM programs_ledgerentry AS entry
    JOIN programs_card AS card ON card.id = entry.card_id
    JOIN programs_program AS program ON program.id = card.program_id
    WHERE program.kind = 'point' AND card.balance > 0 AND entry.delta > 0
    WINDOW newest AS (PARTITION BY entry.card_id ORDER BY entry.id DESC)
) AS backing
WHERE take > 0
"""


class Migration(migrations.Migration):
    dependencies = [("programs", "0009_point_lots")]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop)]
