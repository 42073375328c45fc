from django.db.models import QuerySet
from django.utils import timezone

from loyalty_platform.customers.models import Customer
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import active_programs
from loyalty_platform.rewards.models import RewardReception
from loyalty_platform.rewards.services import reward_collect_deadline


def collectable_receptions(customer: Customer) -> QuerySet:
    """The customer's rewards waiting to be handed over, oldest first: collectable and, where
    the point program limits the time to collect, still within it (the expiry job may not
    have run yet for one just past it, which a till would be refused)."""
    receptions = RewardReception.objects.filter(customer=customer, status=RewardReception.Status.COLLECTABLE)
    deadline = reward_collect_deadline(active_programs().get(Program.Kind.POINT), timezone.now())
    if deadline is not None:
        receptions = receptions.filter(created_at__gt=deadline)
    return receptions.select_related("reward", "customer").order_by("created_at", "ledger_entry_id")
