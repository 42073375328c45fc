"""Reads that may lag go to a read replica when one is configured (core.replica): the
dashboard, a segment's audience, the customer export; each in the schema of the organization
asking, never a write, never inside the primary's transaction.

The "replica" here is a second, real connection to the test database (as a streaming
replica would hold the same rows), so which alias ran a statement is what is checked."""

import copy
import uuid
from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from loyalty_platform.campaigns.models import Segment
from loyalty_platform.campaigns.segments import segment_size
from loyalty_platform.core.replica import REPLICA, ReplicaRouter, read_alias, replica_reads
from loyalty_platform.customers.csv_files import customers_export_csv
from loyalty_platform.customers.models import Customer
from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.reports.selectors import dashboard_figures
from tests.pos_fixtures import committed_organization

pytestmark = pytest.mark.usefixtures("committed_db")


def statements(captured: CaptureQueriesContext) -> list[str]:
    """What ran, without the search path the connection sets for its schema."""
    queries = [query["sql"] for query in captured.captured_queries]
    return [sql for sql in queries if not sql.startswith("SET search_path")]


@pytest.fixture
def replica():
    connections.settings[REPLICA] = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    try:
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections.settings[REPLICA]
        del connections[REPLICA]


@pytest.fixture(scope="module")
def two_organizations(django_db_setup, django_db_blocker):
    """Organization A with three members, B with one (kept for the run)."""
    with django_db_blocker.unblock():
        first, created = committed_organization("test-replica-a", "Replica A")
        second, _ = committed_organization("test-replica-b", "Replica B")
        if created:
            for organization, members in ((first, 3), (second, 1)):
                with tenant_context(organization):
                    for _ in range(members):
                        customer_enroll(
                            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
                        )
        connections.close_all()
    return first, second


def _period():
    today = timezone.localdate()
    return {"start": today - timedelta(days=6), "end": today}


def test_the_dashboard_reads_from_the_replica_in_each_organizations_schema(replica, two_organizations):
    first, second = two_organizations
    expected = {}
    for organization in (first, second):
        with tenant_context(organization):
            expected[organization.slug] = dashboard_figures(**_period())

    found = {}
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connection) as on_primary,
        replica_reads(),
    ):
        for organization in (first, second, first):
            with tenant_context(organization):
                found[organization.slug] = dashboard_figures(**_period())

    assert found == expected
    assert (expected[first.slug].members_total, expected[second.slug].members_total) == (3, 1)
    assert len(statements(on_replica)) > 10
    assert on_primary.captured_queries == []


def test_inside_a_transaction_of_the_primary_reads_stay_on_it(replica, two_organizations):
    first, _ = two_organizations
    with tenant_context(first), replica_reads(), transaction.atomic():
        assert read_alias() == DEFAULT_DB_ALIAS
        with CaptureQueriesContext(replica) as on_replica:
            figures = dashboard_figures(**_period())
    assert figures.members_total == 3
    assert on_replica.captured_queries == []


def test_writes_and_unmarked_reads_stay_on_the_primary(replica, two_organizations):
    first, _ = two_organizations
    with tenant_context(first):
        with CaptureQueriesContext(replica) as on_replica:
            assert read_alias() == DEFAULT_DB_ALIAS
            assert Customer.objects.count() == 3
            with replica_reads():
                segment = Segment.objects.create(name=f"all {uuid.uuid4().hex[:6]}")
        try:
            assert segment._state.db == DEFAULT_DB_ALIAS
            assert on_replica.captured_queries == []
            with replica_reads(), CaptureQueriesContext(replica) as reading:
                assert segment_size(Segment.objects.get(pk=segment.pk)) == 3
            # The segment, its rules, the count.
            assert len(statements(reading)) == 3
        finally:
            segment.delete()


def test_the_customer_export_reads_each_chunk_from_the_replica(replica, two_organizations):
    _, second = two_organizations
    with tenant_context(second):
        lines = customers_export_csv(actor=None)
    # The streaming response runs the generator later, in whatever schema the connection is
    # in by then.
    with CaptureQueriesContext(replica) as on_replica, schema_context("public"):
        rows = list(lines)
    assert len(rows) == 1 + 1
    assert len(statements(on_replica)) == 2  # the chunk and the empty chunk after it
    assert replica.schema_name == second.schema_name


def test_without_a_replica_everything_reads_from_the_primary(two_organizations):
    first, _ = two_organizations
    with tenant_context(first), replica_reads():
        assert read_alias() == DEFAULT_DB_ALIAS
        assert dashboard_figures(**_period()).members_total == 3


def test_a_replica_transaction_cannot_switch_organizations(replica, two_organizations):
    first, second = two_organizations
    with tenant_context(first), replica_reads():
        assert read_alias() == REPLICA
        with (
            transaction.atomic(using=REPLICA),
            tenant_context(second),
            pytest.raises(RuntimeError, match="another schema"),
        ):
            read_alias()


def test_the_replica_is_never_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "customers") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "customers") is None
