import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    """A promotion can be withdrawn without deleting it (its vouchers and their history stay),
    and says when it last changed (the Shop API's offers show both)."""

    dependencies = [
        ('vouchers', '0005_voucher_expiry'),
    ]

    operations = [
        migrations.AddField(
            model_name='promotion',
            name='is_active',
            field=models.BooleanField(db_default=True, default=True, help_text='Untick to withdraw the promotion: tills refuse its vouchers as ended and campaigns stop giving them; the vouchers and their history stay. Tick again to bring it back.'),
        ),
        migrations.AddField(
            model_name='promotion',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
        ),
        # Promotions saved before are dated by their creation, not by this migration.
        migrations.RunSQL(
            "UPDATE vouchers_promotion SET updated_at = created_at", reverse_sql=migrations.RunSQL.noop
        ),
    ]
