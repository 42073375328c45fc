from django.db import migrations, models


class Migration(migrations.Migration):
    """The expiry job finds the active coupons with a date in a partial index."""

    dependencies = [
        ('coupons', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='coupon',
            index=models.Index(condition=models.Q(('expires_at__isnull', False), ('status', 'active')), fields=['expires_at'], name='coupon_due_idx'),
        ),
    ]
