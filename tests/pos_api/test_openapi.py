import yaml

from loyalty_platform.core import errors

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


def test_each_error_code_is_documented_under_the_status_it_is_answered_with(platform_client):
    schema = yaml.safe_load(platform_client.get("/api/schema/").content)

    earn = schema["paths"]["/webhook/pos"]["post"]["responses"]
    assert "`pin_required`" in earn["412"]["description"]
    assert "`pin_required`" not in earn["422"]["description"]
    assert "`pin_locked`" in earn["423"]["description"]
    assert "`request_too_large`" in earn["413"]["description"]
    validate = schema["paths"]["/webhook/vouchers/validate"]["post"]["responses"]
    assert "`voucher_not_found`" in validate["404"]["description"]
    assert "`voucher_expired`" in validate["410"]["description"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "`invalid_characters`" in responses["400"]["description"], (path, method)
            assert "Retry-After" in responses["429"]["headers"], (path, method)
            assert "Retry-After" in responses["503"]["headers"], (path, method)
            assert "`service_unavailable`" in responses["503"]["description"], (path, method)
            assert operation["security"] == [{"ApiKeyHeader": []}, {"ApiKeyBearer": []}], (path, method)
    assert schema["components"]["securitySchemes"]["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }


def test_unknown_paths_and_malformed_segments_answer_json_404_for_any_method(pos):
    answers = [
        pos.post("/webhook/nothing-here", {"a": 1}),
        pos.post("/webhook/customers/null,null/prepaid/transactions", {"amount": "1", "external_id": "x"}),
        pos.get("/webhook/customers/abc/wallet"),
        pos.post("/webhook/rewards/abc/receptions", {"customer_code": 123456, "external_id": "x"}),
    ]

    assert [(answer.status_code, answer.json()) for answer in answers] == [(404, {"error": "not_found"})] * 4


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_operation_has_a_summary_and_realistic_examples_shaped_like_its_response(platform_client):
    schema = yaml.safe_load(platform_client.get("/api/schema/").content)

    shapes = {}
    for path, item in schema["paths"].items():
        if not path.startswith("/webhook/"):
            continue
        for method, operation in item.items():
            assert operation["summary"], (path, method)
            success = operation["responses"]["200"]["content"]["application/json"]
            data = _resolve(schema, _resolve(schema, success["schema"])["properties"]["data"])
            example = success["examples"]["Success"]["value"]["data"]
            if data.get("type") == "array":
                data, example = _resolve(schema, data["items"]), example[0]
            properties, required = set(data["properties"]), set(data.get("required", []))
            shapes[operation["operationId"]] = required <= set(example) <= properties
    assert len(shapes) >= 32
    assert {operation for operation, fits in shapes.items() if not fits} == set()


def test_every_refusal_a_request_serializer_can_make_carries_the_field_it_names():
    from loyalty_platform.core.errors import DomainError
    from loyalty_platform.pos_api import urls
    from loyalty_platform.pos_api.endpoints import Command

    refused = []
    for pattern in urls.urlpatterns:
        operation = getattr(getattr(pattern.callback, "cls", None), "post", None)
        if not isinstance(operation, Command) or operation.request is None:
            continue
        for name, field in operation.request().fields.items():
            kinds = ("required", "invalid") if field.required else ("invalid",)
            for kind in kinds:
                try:
                    errors.field_error(name, kind)(field=name)
                except TypeError:
                    refused.append(f"{name}_{kind}")
    assert refused == []
    assert isinstance(errors.RELEASE_KEY_INVALID(field="release_key"), DomainError)
