"""Test set-up: the real PostgreSQL and Redis; two organizations created once per session.

Tests run inside a transaction that is rolled back (pytest-django's `db`). Tests that need
committed data (other threads, other processes) use `committed_db`, which never flushes the
database: they create rows with unique names and assert only on their own rows."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import tenant_context

from loyalty_platform.core import local_cache, sms
from tenants.models import Organization
from tenants.services import organization_create

pytest_plugins = ["tests.pos_fixtures"]

ORGANIZATION_A = "test-a"
ORGANIZATION_B = "test-b"


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """Replaces pytest-django's, which creates the test database only when some test asks
    for `db`; a session of `committed_db` tests alone would otherwise run on the real one."""
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        databases = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"})
        assert_test_database()
        for slug, name in ((ORGANIZATION_A, "Test Org A"), (ORGANIZATION_B, "Test Org B")):
            organization_create(slug=slug, name=name)
    yield
    with django_db_blocker.unblock():
        teardown_databases(databases, verbosity=verbosity)


def pytest_configure(config) -> None:
    if settings.SETTINGS_MODULE != "loyalty_platform.settings.test":
        pytest.exit(f"tests must run with loyalty_platform.settings.test, not {settings.SETTINGS_MODULE}")


def assert_test_database() -> None:
    name = connection.settings_dict["NAME"]
    if not name.startswith("test_"):
        pytest.exit(f"refusing to run tests on the database {name!r}", returncode=3)


def _delete_namespace_keys() -> None:
    # Never FLUSHDB: `make run` may share this Redis server; delete only this run's keys.
    client = caches["platform"]._cache.get_client()
    keys = list(client.scan_iter(match=f"*{settings.REDIS_NAMESPACE}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache():
    _delete_namespace_keys()
    # A test's rolled-back changes send no signal, so nothing would forget their copies.
    local_cache.clear_all()
    sms.outbox.clear()  # as pytest-django empties django.core.mail.outbox
    yield
    connection.set_schema_to_public()


@pytest.fixture
def organization(db) -> Organization:
    return Organization.objects.get(slug=ORGANIZATION_A)


@pytest.fixture
def other_organization(db) -> Organization:
    return Organization.objects.get(slug=ORGANIZATION_B)


@pytest.fixture
def in_organization(organization):
    """Run the test body inside organization A's schema."""
    with tenant_context(organization):
        yield organization


def host_of(organization: Organization) -> str:
    return f"{organization.slug}.localhost"


class HostClient(Client):
    """A test client bound to one host; login() looks the user up in that host's schema."""

    def __init__(self, organization: Organization | None, **defaults):
        self.organization = organization
        host = host_of(organization) if organization else "localhost"
        super().__init__(HTTP_HOST=host, **defaults)

    def login(self, **credentials) -> bool:
        if self.organization is None:
            connection.set_schema_to_public()
            return super().login(**credentials)
        with tenant_context(self.organization):
            return super().login(**credentials)


@pytest.fixture
def client_a(organization) -> HostClient:
    return HostClient(organization)


@pytest.fixture
def client_b(other_organization) -> HostClient:
    return HostClient(other_organization)


@pytest.fixture
def platform_client(db) -> HostClient:
    return HostClient(None)


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access outside the test transaction, for threads and other processes."""
    with django_db_blocker.unblock():
        assert_test_database()
        yield
        connection.set_schema_to_public()
        # Its connection may live in a context (Playwright's event loop) that the end-of-run
        # clean-up does not see; an open one would block dropping the test database.
        connections.close_all()


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker):
    """The ASGI server as deployed (uvicorn), on the test database, for the whole session."""
    from tests.processes import live_server

    with django_db_blocker.unblock(), live_server() as running:
        yield running


@pytest.fixture(scope="session")
def production_server(django_db_setup, django_db_blocker):
    """The ASGI server in production mode (DEBUG=false, so Django's own error pages are the
    production ones). Send `X-Forwarded-Proto: https`, as the TLS proxy in front of it would."""
    from tests.processes import live_server

    environment = {"DEBUG": "false", "SECRET_KEY": "t" * 50, "REDIS_URL": settings.REDIS_URL}
    with django_db_blocker.unblock(), live_server(**environment) as running:
        yield running
