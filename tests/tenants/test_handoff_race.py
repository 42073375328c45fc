"""One handoff link spent by several requests at the same moment signs in exactly one."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from django.db import connections

from tenants.handoff import handoff_issue, handoff_redeem
from tenants.models import Organization, PortalHandoff
from tests.conftest import ORGANIZATION_A

RACERS = 8


def test_one_link_spent_at_once_by_many_requests_works_once(committed_db):
    organization = Organization.objects.get(slug=ORGANIZATION_A)
    url = handoff_issue(
        organization=organization, purpose=PortalHandoff.Purpose.SIGNUP, staff_email="race@handoff.example"
    )
    token = urlsplit(url).path.rstrip("/").rsplit("/", 1)[1]
    start = threading.Barrier(RACERS)

    def spend(_index: int) -> bool:
        try:
            start.wait(timeout=10)
            return handoff_redeem(organization=organization, token=token) is not None
        finally:
            connections.close_all()

    try:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            outcomes = list(pool.map(spend, range(RACERS)))
    finally:
        PortalHandoff.objects.filter(staff_email="race@handoff.example").delete()

    assert sorted(outcomes) == [False] * (RACERS - 1) + [True]
