from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_exists

from tenants.models import Organization
from tenants.schema_copy import schema_names_restore, schemas_without_template_names
from tenants.services import template_schema_ensure


class Command(BaseCommand):
    help = "Migrate the public schema, the template schema and every organization's schema."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        template_schema_ensure(verbosity=verbosity)
        template = settings.TENANT_BASE_SCHEMA
        if template and schema_exists(template):
            # Organizations cloned before clones kept the template's names get them back
            # before any migration looks for them (once: the schema is marked afterwards).
            schemas = list(
                Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
            )
            for schema in schemas_without_template_names(schemas):
                for change in schema_names_restore(schema=schema, template=template):
                    self.stdout.write(f"{schema}: {change}")
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
