"""Keep the cached host look-ups in step with the Domain and Organization tables."""

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tenants.models import ApiKey, Domain, Organization, Subscription
from tenants.selectors import forget_api_keys, forget_hostnames, subscription_cache_key


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
    forget_hostnames(hostnames)
    # Also after commit, so a request racing the transaction cannot re-cache the old row.
    transaction.on_commit(lambda: forget_hostnames(hostnames))


@receiver(post_save, sender=Organization)
@receiver(post_delete, sender=Organization)
def _forget_organization(sender, instance: Organization, **kwargs) -> None:
    """Domains and API keys cache a copy of the organization (its preset, its schema)."""
    hostnames = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    lookup_ids = list(ApiKey.objects.filter(organization_id=instance.pk).values_list("lookup_id", flat=True))

    def forget() -> None:
        forget_hostnames(hostnames)
        forget_api_keys(lookup_ids)

    forget()
    transaction.on_commit(forget)


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget_api_key(sender, instance: ApiKey, **kwargs) -> None:
    lookup_ids = [instance.lookup_id]
    forget_api_keys(lookup_ids)
    transaction.on_commit(lambda: forget_api_keys(lookup_ids))


@receiver(post_save, sender=Subscription)
@receiver(post_delete, sender=Subscription)
def _forget_subscription(sender, instance: Subscription, **kwargs) -> None:
    key = subscription_cache_key(instance.organization_id)
    caches["platform"].delete(key)
    transaction.on_commit(lambda: caches["platform"].delete(key))
