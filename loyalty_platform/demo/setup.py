"""The demo organization of `make run`: created once, its credentials kept under var/."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from loyalty_platform.accounts.models import User
from loyalty_platform.accounts.services import staff_user_create
from loyalty_platform.demo.services import DEMO_STAFF_PASSWORD, demo_data_create
from tenants.models import Organization
from tenants.services import organization_create

DEMO_SLUG = "demo"
DEMO_OPERATOR_EMAIL = "operator@platform.example"
DEMO_OPERATOR_PASSWORD = "demo-operator-password"  # noqa: S105 - published demo login


@dataclass(frozen=True)
class DemoCredentials:
    operator_email: str
    operator_password: str
    staff_email: str
    staff_password: str
    api_key: str


def _credentials_file():
    return settings.DEMO_CREDENTIALS_FILE


def demo_platform_ensure() -> DemoCredentials:
    """Create the platform operator and the demo organization unless they exist. The demo
    API key's secret exists in clear only when issued, so it is kept in var/ for reprinting."""
    with transaction.atomic():
        if not User.objects.filter(email__iexact=DEMO_OPERATOR_EMAIL).exists():
            staff_user_create(email=DEMO_OPERATOR_EMAIL, password=DEMO_OPERATOR_PASSWORD, name="Operator")
    organization = Organization.objects.filter(slug=DEMO_SLUG).first()
    if organization is None:
        organization = organization_create(slug=DEMO_SLUG, name="Demo Café")
    demo = demo_data_create(organization=organization)
    stored = json.loads(_credentials_file().read_text()) if _credentials_file().exists() else {}
    if demo.api_key:
        stored["api_key"] = demo.api_key
        _credentials_file().write_text(json.dumps(stored))
    return DemoCredentials(
        operator_email=DEMO_OPERATOR_EMAIL,
        operator_password=DEMO_OPERATOR_PASSWORD,
        staff_email=demo.staff_email,
        staff_password=DEMO_STAFF_PASSWORD,
        api_key=stored.get("api_key", "(lost: run `python manage.py create_api_key demo`)"),
    )
