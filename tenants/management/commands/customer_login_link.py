from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from loyalty_platform.customers.login import login_link_create
from loyalty_platform.customers.selectors import customer_by_email
from tenants.models import Organization


class Command(BaseCommand):
    help = "Print a one-time sign-in link for a customer (for support)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["slug"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['slug']!r}")
        with tenant_context(organization):
            customer = customer_by_email(options["email"])
            if customer is None:
                raise CommandError(f"no customer with email {options['email']!r} in {organization.slug}")
            self.stdout.write(login_link_create(customer=customer))
