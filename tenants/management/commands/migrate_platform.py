from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services import template_schema_ensure


class Command(BaseCommand):
    help = "Migrate the public schema, the template schema and every organization's schema."

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        template_schema_ensure(verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
