from django.db import migrations


class Migration(migrations.Migration):
    """Records are now written only with the response, by the action's transaction: claims
    left in progress by the old two-commit scheme answer nothing and go."""

    dependencies = [
        ("pos_api", "0002_idempotency_attempt"),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM pos_api_idempotencyrecord WHERE status <> 'completed'", migrations.RunSQL.noop
        ),
        migrations.RemoveField(model_name="idempotencyrecord", name="attempt"),
        migrations.RemoveField(model_name="idempotencyrecord", name="completed_at"),
        migrations.RemoveField(model_name="idempotencyrecord", name="status"),
    ]
