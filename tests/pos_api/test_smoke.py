from tests.pos_fixtures import create_customer


def test_earn_smoke(pos, organization, programs):
    customer = create_customer(organization, points=5)
    response = pos.post(
        "/webhook/pos", {"customer_code": customer.customer_code, "amount": 12.5, "external_id": "e1"}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"data": {"stamps": 0, "points": 17}}
