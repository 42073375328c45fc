"""A customer's rewards waiting to be handed over (the wallet); built CONCURRENTLY."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('rewards', '0007_profile_take_once'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='rewardreception',
            index=models.Index(condition=models.Q(('status', 'collectable')), fields=['customer', 'created_at'], name='reception_customer_waiting_idx'),
        ),
    ]
