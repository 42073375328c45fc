"""The role groups follow every migration of an organization's schema (accounts.roles)."""

import logging

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_tenants.utils import get_public_schema_name

from loyalty_platform.accounts.roles import roles_ensure

logger = logging.getLogger(__name__)


@receiver(post_migrate, dispatch_uid="accounts.roles_ensure")
def _roles_after_migrate(sender, using="default", **kwargs) -> None:
    """Runs for the template schema, each new clone (whose migrations are faked) and every
    existing organization. post_migrate is sent once per app and the roles need every app's
    permissions, so this acts on the last app's signal only."""
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1] or connection.schema_name == get_public_schema_name():
        return
    # Receivers run in the order they were connected, maybe before auth's for this last app.
    create_permissions(sender, verbosity=0, using=using, apps=kwargs.get("apps", global_apps))
    missing = roles_ensure()
    if missing:
        logger.warning("roles name permissions the schema %s lacks: %s", connection.schema_name, missing)
