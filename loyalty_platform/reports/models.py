"""Daily rollups of the ledgers, one set per organization (they live in its schema).

A day's rows are written together with its `DailyRollup` row in one transaction, and only
for days that are over in the organization's time zone: a day without a `DailyRollup` has
no rows in the other tables either, and the dashboard reads it from the live rows instead."""

from django.db import models


class DailyRollup(models.Model):
    """One finished local day: the figures that belong to the organization as a whole."""

    day = models.DateField(unique=True)
    coupons_redeemed = models.PositiveIntegerField(default=0)
    voucher_redemptions = models.PositiveIntegerField(default=0)
    # Redemptions reversed on this day (whenever they were made).
    voucher_reversals = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"rollup of {self.day}"


class DailyProgramRollup(models.Model):
    """A day's points or stamps of one program, split as `reports.selectors` defines them."""

    day = models.DateField()
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    issued = models.BigIntegerField(default=0)
    redeemed = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "program"], name="program_rollup_day_unique")]

    def __str__(self) -> str:
        return f"program {self.program_id} on {self.day}"


class DailyRewardRollup(models.Model):
    """Receptions of one reward made on a day, and receptions of it reversed on that day."""

    day = models.DateField()
    reward = models.ForeignKey("rewards.Reward", on_delete=models.CASCADE, related_name="+")
    receptions = models.PositiveIntegerField(default=0)
    reversals = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "reward"], name="reward_rollup_day_unique")]

    def __str__(self) -> str:
        return f"reward {self.reward_id} on {self.day}"


class DailyActiveCustomer(models.Model):
    """A customer who made a transaction on the day. Distinct customers over a period are not
    a sum of daily counts, so the rollup keeps who, not how many; (day, customer) is unique
    and its index answers the period's distinct count without reading the table."""

    day = models.DateField()
    customer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "customer_id"], name="active_customer_day_unique")
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} on {self.day}"
