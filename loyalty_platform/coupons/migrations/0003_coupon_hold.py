from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("coupons", "0002_coupon_due_index")]

    operations = [
        migrations.AddField(
            model_name="coupon",
            name="held_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="coupon",
            name="held_by",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
    ]
