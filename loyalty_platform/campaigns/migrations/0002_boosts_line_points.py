from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="campaignboost",
            name="line_points",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
