import base64
import os

import pytest

from loyalty_platform.webhooks.models import WebhookEndpoint
from tests.webhooks.event_helpers import subscribe
from tests.webhooks.receiver import Receiver


@pytest.fixture
def endpoint(organization) -> WebhookEndpoint:
    """An endpoint of organization A receiving every event type."""
    return subscribe(organization)


@pytest.fixture
def endpoint_b(other_organization) -> WebhookEndpoint:
    """Organization B receives everything too: it must get nothing of A's changes."""
    return subscribe(other_organization)


@pytest.fixture
def receiver():
    """A live receiver on loopback, answering 200 "ok" until told otherwise."""
    running = Receiver().start()
    yield running
    running.stop()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()
