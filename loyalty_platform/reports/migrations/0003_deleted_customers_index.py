"""The few deleted customers by join date: the dashboard counts members as every customer
(an index-only count) less these."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_live_indexes")]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX reports_customer_deleted_idx ON customers_customer (created_at) "
            "WHERE status = 'deleted'",
            reverse_sql="DROP INDEX reports_customer_deleted_idx",
        )
    ]
