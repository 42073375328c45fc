from django.db import migrations, models


class Migration(migrations.Migration):
    """A reward taken in the profile: one reception per customer and form key."""

    dependencies = [
        ('customers', '0006_points_expiry_warnings'),
        ('programs', '0010_point_lots_backfill'),
        ('rewards', '0006_reception_expiry'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='rewardreception',
            constraint=models.UniqueConstraint(condition=models.Q(('external_id__startswith', 'profile-')), fields=('customer', 'external_id'), name='reception_profile_once'),
        ),
    ]
