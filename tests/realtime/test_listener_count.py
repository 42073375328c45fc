"""A POS call's rate-limit round trip also counts the live subscriptions to the
organization's customers (realtime.layer keeps them beside the groups); with none, the
call's customer events go nowhere and cost no Redis call."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from loyalty_platform.core import redis as lp_redis
from loyalty_platform.realtime.layer import listening_key
from loyalty_platform.realtime.publish import customer_group
from tests.balance_events import CustomerListener
from tests.pos_fixtures import PosClient, create_customer


def _earn(client: PosClient, customer, external_id: str):
    return client.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 10, "external_id": external_id}
    )


def _listening(organization) -> int:
    return lp_redis.client().zcard(listening_key(organization.schema_name))


def test_joining_and_leaving_a_customer_group_counts_for_its_organization_only(
    organization, other_organization
):
    customer = create_customer(organization)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    group = customer_group(organization.schema_name, customer.pk)

    async_to_sync(layer.group_add)(group, channel)
    async_to_sync(layer.group_add)("public-channel-abc", channel)  # not a customer group
    joined = (_listening(organization), _listening(other_organization))
    async_to_sync(layer.group_discard)(group, channel)
    left = (_listening(organization), _listening(other_organization))

    assert (joined, left) == ((1, 0), (0, 0))


def test_an_earn_with_nobody_listening_publishes_nothing(
    organization, programs, key_a, django_capture_on_commit_callbacks
):
    customer = create_customer(organization)
    client = PosClient("test-a.localhost", key_a)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _earn(client, customer, "quiet")

    assert response.status_code == 200
    assert callbacks == []


def test_an_earn_is_sent_to_its_customer_when_anyone_in_the_organization_listens(
    organization, programs, key_a, django_capture_on_commit_callbacks
):
    """Someone listening to any customer of the organization: the earn's event is sent (to
    its own customer's group, heard there)."""
    customer, bystander = create_customer(organization), create_customer(organization)
    client = PosClient("test-a.localhost", key_a)
    listener, watcher = CustomerListener(organization, customer), CustomerListener(organization, bystander)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = _earn(client, customer, "heard")
        heard, bystander_heard = listener.events("balance_updated"), watcher.events("balance_updated")
    finally:
        listener.close()
        watcher.close()

    assert response.status_code == 200
    assert len(callbacks) == 1
    assert heard == [{"stamps": 0, "points": 10}]
    assert bystander_heard == []
