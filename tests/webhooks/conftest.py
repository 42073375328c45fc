import pytest

from loyalty_platform.webhooks.models import WebhookEndpoint
from tests.webhooks.event_helpers import subscribe


@pytest.fixture
def endpoint(organization) -> WebhookEndpoint:
    """An endpoint of organization A receiving every event type."""
    return subscribe(organization)


@pytest.fixture
def endpoint_b(other_organization) -> WebhookEndpoint:
    """Organization B receives everything too: it must get nothing of A's changes."""
    return subscribe(other_organization)
