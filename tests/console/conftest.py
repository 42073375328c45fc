import pytest
from django.db import connection

from loyalty_platform.accounts.models import User
from tests.conftest import HostClient

OPERATOR_PASSWORD = "correct horse battery"


@pytest.fixture
def operator(db) -> User:
    """A platform operator: a superuser of the public schema."""
    connection.set_schema_to_public()
    return User.objects.create_superuser(email="operator@example.com", password=OPERATOR_PASSWORD)


@pytest.fixture
def console(operator) -> HostClient:
    """The platform host's admin, signed in as the operator."""
    client = HostClient(None)
    assert client.login(email=operator.email, password=OPERATOR_PASSWORD)
    return client
