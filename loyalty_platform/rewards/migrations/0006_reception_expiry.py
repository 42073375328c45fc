from django.db import migrations, models


class Migration(migrations.Migration):
    """Receptions not collected in time expire (status expired, expired_at); the job finds the
    collectable ones in a partial index."""

    dependencies = [
        ('rewards', '0005_runner_reception_without_entry'),
    ]

    operations = [
        migrations.AddField(
            model_name='rewardreception',
            name='expired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='rewardreception',
            name='status',
            field=models.CharField(choices=[('spent', 'Spent (handed over)'), ('collectable', 'Collectable'), ('collected', 'Collected'), ('reversed', 'Reversed'), ('expired', 'Expired (not collected)')], max_length=12),
        ),
        migrations.AddIndex(
            model_name='rewardreception',
            index=models.Index(condition=models.Q(('status', 'collectable')), fields=['created_at', 'id'], name='reception_collectable_idx'),
        ),
    ]
