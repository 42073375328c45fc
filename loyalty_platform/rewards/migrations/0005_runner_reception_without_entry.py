import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """A reward a campaign gives costs no points, so its reception has no ledger entry."""

    dependencies = [
        ("programs", "0006_campaign_cause"),
        ("rewards", "0004_help_texts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rewardreception",
            name="ledger_entry",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reward_reception",
                to="programs.ledgerentry",
            ),
        ),
    ]
