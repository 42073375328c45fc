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
    a sum of daily counts, so the rollup keeps who, not how many (see DailyActiveGap)."""

    day = models.DateField(db_index=True)
    customer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            # Also the index that finds a customer's previous active day.
            models.UniqueConstraint(fields=["customer_id", "day"], name="active_customer_day_unique")
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} on {self.day}"


class DailyActiveGap(models.Model):
    """How many of a day's active customers were last active `gap` days before (among rolled
    days; FIRST_TIME when never). The customers active on some day of s..e are counted once,
    on their first active day there, which is the day whose gap reaches back before s:
    SUM(customers) WHERE day BETWEEN s AND e AND gap > day - s, a few hundred rows a day
    instead of every active customer of the period."""

    FIRST_TIME = 2**31 - 1

    day = models.DateField()
    gap = models.IntegerField()
    customers = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "gap"], name="active_gap_day_unique")]

    def __str__(self) -> str:
        return f"{self.customers} back after {self.gap} days on {self.day}"
