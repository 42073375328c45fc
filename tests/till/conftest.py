import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.shops.models import Shop
from tests.factories import StaffUserFactory

PASSWORD = "correct horse battery"


def till_permission() -> Permission:
    """accounts.use_till (the roles declare it; created here when they have not yet)."""
    permission, _created = Permission.objects.get_or_create(
        codename="use_till",
        content_type=ContentType.objects.get_for_model(User),
        defaults={"name": "Can use the browser till"},
    )
    return permission


def cashier_create(organization, email: str, *, may_use_till: bool = True) -> User:
    """A staff member who is not a superuser, holding only the till's permission."""
    with tenant_context(organization):
        user = StaffUserFactory(email=email, is_superuser=False)
        user.groups.clear()  # no role: only what this test gives
        if may_use_till:
            user.user_permissions.add(till_permission())
        return user


@pytest.fixture
def shop(organization) -> Shop:
    with tenant_context(organization):
        return Shop.objects.create(name="Main street")


@pytest.fixture
def cashier(organization) -> User:
    return cashier_create(organization, "cashier@example.com")
