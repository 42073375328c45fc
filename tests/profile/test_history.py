"""The profile's history in words, grouped by day in the organization's time zone."""

from datetime import UTC, datetime, time, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from loyalty_platform.orders.models import Order
from loyalty_platform.profile.history import history_days, history_lines
from loyalty_platform.programs.services import card_adjust
from loyalty_platform.rewards.models import Reward
from loyalty_platform.shops.models import Shop
from tenants.models import ApiKey
from tests.identification.test_qr_sessions import signed_in
from tests.pos_fixtures import PosClient, create_customer, issue_key

LINES = [{"sku": "LATTE", "name": "Latte", "category": "coffee", "quantity": "2", "unit_price": "5.00"}]


def shop_key(organization, name: str) -> tuple[Shop, str]:
    with tenant_context(organization):
        shop = Shop.objects.create(name=name)
    key = issue_key(organization)
    ApiKey.objects.filter(lookup_id=key.split("_")[2]).update(shop_id=shop.pk)
    return shop, key


def lines_of(organization, customer) -> list[tuple[str, str, str]]:
    with tenant_context(organization):
        return [(line.title, line.change, line.balance) for line in history_lines(customer)]


def test_each_change_is_told_by_what_caused_it(organization, programs, pos):
    _, key = shop_key(organization, "Vilnius Old Town")
    till = PosClient("test-a.localhost", key)
    customer = create_customer(organization)
    code = customer.customer_code
    with tenant_context(organization):
        reward = Reward.objects.create(name="Free muffin", required_credits=5)

    for client, amount, external_id in ((till, 130, "sale-1"), (pos, 4, "sale-2")):
        earn = {"customer_code": code, "amount": amount, "external_id": external_id}
        assert client.post("/webhook/pos", earn).status_code == 200
    order = {"customer_code": code, "currency": "EUR", "total": "10.00", "lines": LINES}
    created = till.post("/webhook/orders", {**order, "external_id": "1043"})
    assert created.status_code == 200, created.json()
    paid = till.post("/webhook/orders", {**order, "external_id": "1044", "paid_with_points": 100})
    assert paid.status_code == 200, paid.json()
    returned = {"external_id": "ret-1", "lines": [{"sku": "LATTE", "quantity": "1"}]}
    assert till.post("/webhook/orders/1043/returns", returned).status_code == 200
    reception = {"customer_code": code, "external_id": "rw-1"}
    assert pos.post(f"/webhook/rewards/{reward.pk}/receptions", reception).status_code == 200
    assert pos.post("/webhook/transactions/sale-2/reverse", {"external_id": "undo-2"}).status_code == 200
    with tenant_context(organization):
        card_adjust(customer=customer, card_type="point", delta=2, reason="machine broke", staff_user=None)
    stamps = {"customer_code": code, "amount": 10, "card_type": "stamp", "external_id": "visit-1"}
    assert till.post("/webhook/pos", stamps).status_code == 200
    top_up = {"amount": "20", "external_id": "top-up"}
    assert pos.post(f"/webhook/customers/{code}/prepaid/transactions", top_up).status_code == 200

    assert lines_of(organization, customer) == [
        ("Credit topped up", "+€20.00", "€20.00"),
        ("Full card: Free Coffee", "\u221210 stamps", "0 stamps"),
        ("Stamps collected at Vilnius Old Town", "+10 stamps", "10 stamps"),
        ("Correction: machine broke", "+2 points", "41 points"),
        ("Cancelled: Purchase", "\u22124 points", "39 points"),
        ("Free muffin", "\u22125 points", "43 points"),
        ("Return of order 1043", "\u22125 points", "48 points"),
        ("Order 1044 at Vilnius Old Town", "+9 points", "53 points"),
        ("Points paid for order 1044 at Vilnius Old Town", "\u2212100 points", "44 points"),
        ("Order 1043 at Vilnius Old Town", "+10 points", "144 points"),
        ("Purchase", "+4 points", "134 points"),
        ("Purchase at Vilnius Old Town", "+130 points", "130 points"),
    ]
    with tenant_context(organization):
        assert Order.objects.filter(customer=customer).count() == 2


def test_days_follow_the_organizations_time_zone(organization, programs, pos):
    organization.timezone = "Europe/Vilnius"
    organization.save(update_fields=["timezone"])
    customer = create_customer(organization)
    code = customer.customer_code
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    noon, late = (datetime.combine(tomorrow, time(hour, minute), UTC) for hour, minute in ((12, 0), (22, 30)))
    for index, moment in enumerate((noon, late)):
        with time_machine.travel(moment, tick=False):
            body = {"customer_code": code, "amount": index + 1, "external_id": f"d-{index}"}
            assert pos.post("/webhook/pos", body).status_code == 200

    with tenant_context(organization):
        connection.tenant = organization
        days = history_days(history_lines(customer))

    # 22:30 UTC is 00:30 the next day in Vilnius.
    assert [(day.day, [(line.time, line.change) for line in day.lines]) for day in days] == [
        (tomorrow + timedelta(days=1), [("00:30", "+2 points")]),
        (tomorrow, [("14:00", "+1 point")]),
    ]


def test_the_page_reads_a_fixed_number_of_queries_however_long_the_history(organization, programs, pos):
    customer = create_customer(organization)
    code = customer.customer_code

    def queries() -> int:
        with tenant_context(organization), CaptureQueriesContext(connection) as captured:
            history_lines(customer)
        return len(captured)

    assert (
        pos.post("/webhook/pos", {"customer_code": code, "amount": 1, "external_id": "q-0"}).status_code
        == 200
    )
    few = queries()
    for index in range(1, 8):
        body = {"customer_code": code, "amount": 1, "external_id": f"q-{index}"}
        assert pos.post("/webhook/pos", body).status_code == 200
    assert queries() == few


def test_the_profile_shows_the_days_and_words(organization, programs, pos):
    customer = create_customer(organization)
    body = {"customer_code": customer.customer_code, "amount": 12, "external_id": "p-1"}
    assert pos.post("/webhook/pos", body).status_code == 200
    client = signed_in(organization, customer)

    page = client.get("/me/").content.decode()
    api = client.get("/me/api/history").json()["data"]

    assert '<span class="what">Purchase</span>' in page
    assert '<span class="change">+12 points</span>' in page
    assert "balance 12 points" in page
    assert [(entry["title"], entry["cause"], entry["delta"]) for entry in api] == [("Purchase", "earn", 12)]
