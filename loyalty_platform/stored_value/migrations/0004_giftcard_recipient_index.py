"""The giftcards sent to an email (a customer's history page); built CONCURRENTLY."""

import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('stored_value', '0003_help_texts'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='giftcard',
            index=models.Index(django.db.models.functions.text.Upper('recipient_email'), name='giftcard_recipient_idx'),
        ),
    ]
