"""Indexes the dashboard's live part (days without a rollup, always today) and the rollup
build read by: each finds a day's rows by their time. They belong to other apps' tables but
serve only the reports, so they live here, named reports_*."""

from django.db import migrations

INDEXES = [
    ("reports_ledger_created_idx", "programs_ledgerentry", "created_at", ""),
    ("reports_money_created_idx", "stored_value_moneyentry", "created_at", ""),
    ("reports_customer_created_idx", "customers_customer", "created_at", ""),
    ("reports_coupon_redeemed_idx", "coupons_coupon", "redeemed_at", "WHERE redeemed_at IS NOT NULL"),
    ("reports_voucher_use_created_idx", "vouchers_voucherredemption", "created_at", ""),
    (
        "reports_voucher_use_reversed_idx",
        "vouchers_voucherredemption",
        "reversed_at",
        "WHERE reversed_at IS NOT NULL",
    ),
    ("reports_reception_created_idx", "rewards_rewardreception", "created_at", ""),
    (
        "reports_reception_reversed_idx",
        "rewards_rewardreception",
        "reversed_at",
        "WHERE reversed_at IS NOT NULL",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("programs", "0004_transactionreversal"),
        ("customers", "0003_longer_next_path"),
        ("coupons", "0001_initial"),
        ("stored_value", "0001_initial"),
        ("vouchers", "0001_initial"),
        ("rewards", "0002_reward_attributes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX {name} ON {table} ({column}) {condition}",
            reverse_sql=f"DROP INDEX {name}",
        )
        for name, table, column, condition in INDEXES
    ]
