from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_organization_staff_two_factor_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="staff_user_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="apikey",
            name="expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
