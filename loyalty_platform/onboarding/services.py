from django.db import transaction
from django.utils import timezone

from loyalty_platform.audit.services import audit_record
from loyalty_platform.onboarding.models import OnboardingState

SHARE_WAYS = ("poster", "link")


def _state_locked() -> OnboardingState:
    # The one row, created on first use; ON CONFLICT DO NOTHING when two requests race to it.
    OnboardingState.objects.bulk_create([OnboardingState()], ignore_conflicts=True)
    return OnboardingState.objects.select_for_update().get(singleton=True)


@transaction.atomic
def checklist_dismiss(*, actor) -> OnboardingState:
    """Hide the onboarding checklist for every staff member of the organization."""
    state = _state_locked()
    if state.dismissed_at is None:
        state.dismissed_at = timezone.now()
        state.save(update_fields=["dismissed_at"])
        audit_record(actor=actor, action="onboarding.dismiss", target=state, details={})
    return state


@transaction.atomic
def join_link_shared(*, actor, how: str) -> OnboardingState:
    """Staff shared the join link: downloaded its poster ("poster") or copied it ("link")."""
    if how not in SHARE_WAYS:
        raise ValueError(f"unknown way of sharing {how!r}")
    state = _state_locked()
    if state.join_link_shared_at is None:
        state.join_link_shared_at = timezone.now()
        state.save(update_fields=["join_link_shared_at"])
    audit_record(actor=actor, action="onboarding.join_link_share", target=state, details={"how": how})
    return state
