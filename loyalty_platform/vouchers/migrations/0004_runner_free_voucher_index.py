from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vouchers", "0003_help_texts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="voucher",
            index=models.Index(
                condition=models.Q(customer__isnull=True, status="active", uses=0),
                fields=["promotion", "id"],
                name="voucher_free_in_pool_idx",
            ),
        ),
    ]
