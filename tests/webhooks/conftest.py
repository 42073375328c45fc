import base64
import os

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    """A live receiver on loopback, answering 200 "ok" until told otherwise."""
    running = Receiver().start()
    yield running
    running.stop()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()
