import yaml

OPERATIONS = {
    ("/webhook/customer", "get"),
    ("/webhook/customer", "post"),
    ("/webhook/pos", "post"),
    ("/webhook/redeem", "post"),
    ("/webhook/coupons/redeem", "post"),
    ("/webhook/giftcards", "post"),
    ("/webhook/giftcards/{code}", "get"),
    ("/webhook/giftcards/{code}/transactions", "post"),
    ("/webhook/giftcard-transactions/{transaction_id}/reverse", "post"),
    ("/webhook/customers/{customer_code}/prepaid", "get"),
    ("/webhook/customers/{customer_code}/prepaid/transactions", "post"),
    ("/webhook/prepaid-transactions/{transaction_id}/reverse", "post"),
    ("/webhook/customers/{customer_code}/wallet", "get"),
    ("/webhook/vouchers/{code}/redeem", "post"),
    ("/webhook/rewards/{reward_id}/receptions", "post"),
    ("/webhook/orders", "post"),
    ("/webhook/orders/preview", "post"),
    ("/webhook/orders/{order_external_id}/returns", "post"),
}


def test_schema_documents_every_operation_with_its_errors(platform_client):
    response = platform_client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    documented = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert documented >= OPERATIONS
    for path, method in documented:
        if not path.startswith("/webhook/"):
            continue
        operation = schema["paths"][path][method]
        assert "200" in operation["responses"], (path, method)
        assert "401" in operation["responses"], (path, method)
        assert any(code.startswith("4") and code != "401" for code in operation["responses"]), (path, method)
    earn_errors = schema["paths"]["/webhook/pos"]["post"]["responses"]["422"]["description"]
    for code in ("amount_invalid", "card_type_invalid", "external_id_required", "pin_invalid"):
        assert code in earn_errors
    return_errors = schema["paths"]["/webhook/orders/{order_external_id}/returns"]["post"]["responses"]
    assert "return_exceeds_order" in return_errors["422"]["description"]
    assert "order_not_found" in return_errors["404"]["description"]


def test_interactive_docs_are_served_offline(platform_client):
    page = platform_client.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    asset = next(part.split('"')[0] for part in html.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert platform_client.get(asset).status_code == 200


def test_unknown_api_path_is_json_404(client_a, platform_client):
    for client in (client_a, platform_client):
        response = client.get("/webhook/nothing-here")
        assert (response.status_code, response.json()) == (404, {"error": "not_found"})
