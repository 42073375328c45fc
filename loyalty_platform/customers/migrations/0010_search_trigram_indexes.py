"""Trigram indexes for the staff search (docs/decisions/0063-trigram-customer-search.md), built
CONCURRENTLY: a big organization keeps enrolling and earning while they build. pg_trgm goes
to the public schema, where every organization's search path finds gin_trgm_ops."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('customers', '0009_consent_per_channel'),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            # Other schemas' indexes may use it: never dropped by a migration of one schema.
            reverse_sql=migrations.RunSQL.noop,
        ),
        AddIndexConcurrently(
            model_name='customer',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('email'), name='gin_trgm_ops'), name='customer_email_trgm_idx'),
        ),
        AddIndexConcurrently(
            model_name='customer',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('name'), name='gin_trgm_ops'), name='customer_name_trgm_idx'),
        ),
        AddIndexConcurrently(
            model_name='customer',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass('phone', name='gin_trgm_ops'), name='customer_phone_trgm_idx'),
        ),
    ]
