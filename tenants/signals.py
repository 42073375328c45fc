"""Keep the cached host look-ups in step with the Domain and Organization tables."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tenants.models import Domain, Organization
from tenants.selectors import forget_hostnames


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
def _forget_organization_domains(sender, instance: Organization, **kwargs) -> None:
    hostnames = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    if hostnames:
        forget_hostnames(hostnames)
        transaction.on_commit(lambda: forget_hostnames(hostnames))
