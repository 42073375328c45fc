from django.core.management.base import BaseCommand, CommandError

from tenants.models import Organization
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Issue a POS API key; the secret key is printed alone on the last line, only this once."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--label", default="")
        parser.add_argument("--shop-id", type=int, default=None)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["slug"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['slug']!r}")
        issued = api_key_create(organization=organization, label=options["label"], shop_id=options["shop_id"])
        self.stderr.write(
            f"API key {issued.api_key.lookup_id} for {organization.slug}; store it now, "
            "it cannot be shown again:"
        )
        self.stdout.write(issued.secret_key)
