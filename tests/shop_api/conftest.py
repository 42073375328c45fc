"""The Shop API driven by the published `loyaltylt-sdk` client, unmodified: its base_url is
pointed at the running server (uvicorn on the test database) after construction.

Each test module works in an organization of its own, committed (the server is another
process) and kept for the run; tests make their own customers, so they do not meet."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections
from django_tenants.utils import tenant_context
from loyalty_sdk import LoyaltySDK
from loyalty_sdk.exceptions import LoyaltySDKError

from tenants.models import Organization
from tests.pos_fixtures import committed_organization, issue_key

pytestmark = pytest.mark.usefixtures("committed_db")


def shop_credentials(raw_key: str) -> tuple[str, str]:
    """The Shop API's two headers for one of our keys (`sk_live_<lookup id>_<secret>`)."""
    lookup_id, _, secret = raw_key.removeprefix("sk_live_").partition("_")
    return f"lty_{lookup_id}", secret


def make_sdk(server, raw_key: str, *, locale: str = "en", host: str | None = None) -> LoyaltySDK:
    api_key, api_secret = shop_credentials(raw_key)
    sdk = LoyaltySDK(api_key=api_key, api_secret=api_secret, locale=locale, timeout=15, retries=1)
    sdk.base_url = f"http://{host or 'localhost'}:{server.port}"
    return sdk


@pytest.fixture(scope="module")
def shop_organization(request, django_db_setup, django_db_blocker) -> Organization:
    """An organization of the module's own, with a point and a stamp program."""
    slug = "shop-" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")[:40]
    with django_db_blocker.unblock():
        organization, _ = committed_organization(slug, f"Shop {slug}")
        connections.close_all()
    return organization


@pytest.fixture(scope="module")
def shop_key(shop_organization, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        key = issue_key(shop_organization)
        connections.close_all()
    return key


@pytest.fixture
def sdk(server, shop_key) -> LoyaltySDK:
    return make_sdk(server, shop_key)


@pytest.fixture
def sdk_other(server, django_db_blocker) -> LoyaltySDK:
    """The SDK with a key of another organization (test-b)."""
    return make_sdk(server, issue_key(Organization.objects.get(slug="test-b")))


@contextmanager
def in_shop(organization: Organization) -> Iterator[None]:
    with tenant_context(organization):
        yield


def unique_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


def refused(call, *args, **kwargs) -> LoyaltySDKError:
    """What the SDK raised for a refused call (a test fails when it did not raise)."""
    with pytest.raises(LoyaltySDKError) as raised:
        call(*args, **kwargs)
    return raised.value
