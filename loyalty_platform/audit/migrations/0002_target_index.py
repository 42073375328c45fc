"""What happened to one record (a customer's history page); built CONCURRENTLY, as the log
of a big organization is long and written to all the time."""

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('audit', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='auditlogentry',
            index=models.Index(fields=['target_type', 'target_id', '-created_at'], name='audit_target_idx'),
        ),
    ]
