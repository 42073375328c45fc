from django.db import models
from django.db.models import Q


class OnboardingState(models.Model):
    """What the onboarding checklist cannot read from other tables: whether staff dismissed
    it, and when the join link was first shared (its poster downloaded or the link copied).
    At most one row per organization's schema (docs/decisions/0034-onboarding-checklist.md)."""

    singleton = models.BooleanField(default=True, editable=False)
    dismissed_at = models.DateTimeField(null=True, blank=True, editable=False)
    join_link_shared_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["singleton"], condition=Q(singleton=True), name="one_onboarding_state"
            ),
        ]

    def __str__(self) -> str:
        return "Onboarding state"
