from django.contrib.auth.signals import user_logged_out
from django.db import connection
from django.dispatch import receiver
from django_tenants.utils import get_public_schema_name

from loyalty_platform.till.services import till_keys_revoke


@receiver(user_logged_out)
def _revoke_till_keys_at_logout(sender, request, user, **kwargs) -> None:
    """A staff member who signs out of an organization's portal leaves no working till key."""
    organization = getattr(request, "organization", None) if request is not None else None
    if user is None or organization is None or connection.schema_name == get_public_schema_name():
        return
    till_keys_revoke(organization=organization, user=user, reason="logout")
