from django.db import migrations, models


class Migration(migrations.Migration):
    """Vouchers of a promotion that ended are marked expired; the ageing job finds them and the
    locks that may have run out in partial indexes."""

    dependencies = [
        ('vouchers', '0004_runner_free_voucher_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='voucher',
            name='status',
            field=models.CharField(choices=[('active', 'Active'), ('redeemed', 'Used up'), ('expired', 'Expired'), ('void', 'Void')], default='active', max_length=10),
        ),
        migrations.AddIndex(
            model_name='voucher',
            index=models.Index(condition=models.Q(('status', 'active'), ('status', 'expired'), _connector='OR'), fields=['promotion', 'status'], name='voucher_ageing_idx'),
        ),
        migrations.AddIndex(
            model_name='voucher',
            index=models.Index(condition=models.Q(('locked_until__isnull', False)), fields=['locked_until'], name='voucher_locked_idx'),
        ),
    ]
