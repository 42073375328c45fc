"""Through the API, a balance change reaches the customer's profile once: the service
publishes it, the view adds nothing of its own."""

import pytest

from tests.pos_fixtures import create_customer


@pytest.mark.parametrize(
    ("path", "fields", "balances"),
    [
        ("/webhook/pos", {"amount": 12.5}, {"stamps": 2, "points": 312}),
        ("/webhook/pos", {"amount": 9, "card_type": "stamp"}, {"stamps": 1, "points": 300}),
        ("/webhook/redeem", {"value": 100, "card_type": "point"}, {"stamps": 2, "points": 200}),
    ],
)
def test_an_api_balance_change_pushes_exactly_one_update(
    organization, programs, pos, listen, django_capture_on_commit_callbacks, path, fields, balances
):
    customer = create_customer(organization, points=300, stamps=2)
    listener = listen(customer)

    with django_capture_on_commit_callbacks(execute=True):
        response = pos.post(path, {"customer_code": customer.customer_code, "external_id": "x-1", **fields})

    assert response.status_code == 200
    assert listener.events() == [("balance_updated", balances)]
