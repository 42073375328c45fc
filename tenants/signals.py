"""Keep the cached look-ups (this process's copies, the shared copies in Redis and other
processes' copies, through the announced change) in step with the platform's tables."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from loyalty_platform.core.local_cache import announce_change
from tenants.models import ApiKey, Domain, Organization, Plan, Subscription
from tenants.selectors import forget_api_keys, forget_hostnames, forget_subscriptions


def _forget_now_and_after_commit(forget) -> None:
    def forget_and_announce() -> None:
        forget()
        announce_change()

    forget_and_announce()
    # Also after commit, so a request racing the transaction cannot keep the old row.
    transaction.on_commit(forget_and_announce)


@receiver(pre_save, sender=Domain)
def _remember_previous_hostname(sender, instance: Domain, **kwargs) -> None:
    if instance.pk:
        instance._previous_hostname = (
            Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()
        )


@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _forget_domain(sender, instance: Domain, **kwargs) -> None:
    hostnames = [instance.domain]
    previous = getattr(instance, "_previous_hostname", None)
    if previous:
        hostnames.append(previous)
    _forget_now_and_after_commit(lambda: forget_hostnames(hostnames))


@receiver(post_save, sender=Organization)
@receiver(post_delete, sender=Organization)
def _forget_organization(sender, instance: Organization, **kwargs) -> None:
    """Domains and API keys cache a copy of the organization (its preset, its schema)."""
    hostnames = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    lookup_ids = list(ApiKey.objects.filter(organization_id=instance.pk).values_list("lookup_id", flat=True))

    def forget() -> None:
        forget_hostnames(hostnames)
        forget_api_keys(lookup_ids)

    _forget_now_and_after_commit(forget)


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget_api_key(sender, instance: ApiKey, **kwargs) -> None:
    lookup_ids = [instance.lookup_id]
    _forget_now_and_after_commit(lambda: forget_api_keys(lookup_ids))


@receiver(post_save, sender=Subscription)
@receiver(post_delete, sender=Subscription)
def _forget_subscription(sender, instance: Subscription, **kwargs) -> None:
    organization_ids = [instance.organization_id]
    _forget_now_and_after_commit(lambda: forget_subscriptions(organization_ids))


@receiver(post_save, sender=Plan)
def _forget_plan(sender, instance: Plan, **kwargs) -> None:
    """The cached periods hold a copy of their plan's limits."""
    organization_ids = list(
        Subscription.objects.filter(plan_id=instance.pk).values_list("organization_id", flat=True).distinct()
    )
    _forget_now_and_after_commit(lambda: forget_subscriptions(organization_ids))
