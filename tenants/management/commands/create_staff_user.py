import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.services import StaffUserError, staff_user_create
from tenants.models import Organization


class Command(BaseCommand):
    help = "Create a staff user who can log into the organization's admin."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")
        parser.add_argument("--password", help="prompted for when omitted")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["slug"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['slug']!r}")
        password = options["password"]
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords differ")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        with tenant_context(organization):
            try:
                user = staff_user_create(email=options["email"], password=password)
            except StaffUserError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(f"staff user {user.email} created for {organization.slug}")
