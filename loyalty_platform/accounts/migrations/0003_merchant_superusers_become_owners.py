"""Merchant staff made before roles were superusers: they become owners (decision
0028-staff-roles). The owner group gets its permissions from accounts.roles after the
migration (post_migrate). Operators in the public schema stay superusers."""

from django.db import migrations
from django_tenants.utils import get_public_schema_name


def superusers_to_owners(apps, schema_editor) -> None:
    if getattr(schema_editor.connection, "schema_name", None) in (None, get_public_schema_name()):
        return
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    owner, _ = Group.objects.get_or_create(name="owner")
    for user in User.objects.filter(is_superuser=True):
        user.groups.set([owner])
    User.objects.filter(is_superuser=True).update(is_superuser=False, is_staff=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_alter_user_options_staffinvitation"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(superusers_to_owners, migrations.RunPython.noop)]
