from django.core.management.base import BaseCommand, CommandError

from loyalty_platform.demo.services import demo_data_create
from tenants.models import Organization
from tenants.platform import base_url
from tenants.services import OrganizationError, organization_create, organization_primary_hostname


class Command(BaseCommand):
    help = "Create an organization (cloned from the template schema) and print its base URL."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", action="append", default=[], help="custom host name; repeatable")
        parser.add_argument("--preset", choices=Organization.VerificationPreset.values, default="standard")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument(
            "--demo-data", action="store_true", help="add the demo programs, shop, staff and key"
        )

    def handle(self, *args, **options):
        try:
            organization = organization_create(
                slug=options["slug"],
                name=options["name"],
                domains=options["domain"],
                verification_preset=options["preset"],
                currency=options["currency"],
            )
        except OrganizationError as error:
            raise CommandError(str(error)) from error
        if options["demo_data"]:
            demo = demo_data_create(organization=organization)
            self.stderr.write(f"staff login: {demo.staff_email} / {demo.staff_password}")
            self.stderr.write(f"API key: {demo.api_key}")
        self.stdout.write(base_url(organization_primary_hostname(organization=organization)))
