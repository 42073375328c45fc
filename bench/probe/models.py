from django.db import models


class Probe(models.Model):
    """What a typical new feature's migration adds: a table with a foreign key into an
    existing one, an indexed timestamp and a unique constraint."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "label"], name="one_probe_label")]

    def __str__(self) -> str:
        return self.label
