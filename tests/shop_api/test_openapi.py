import yaml


def _schema(platform_client, path: str) -> dict:
    response = platform_client.get(path)
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_shop_api_has_a_schema_of_its_own(platform_client):
    shop = _schema(platform_client, "/api/shop/schema/")
    pos = _schema(platform_client, "/api/schema/")
    assert all(path.startswith("/{locale}/shop/") for path in shop["paths"])
    assert not any("/shop/" in path for path in pos["paths"])
    assert "/webhook/pos" in pos["paths"]
    shops = shop["paths"]["/{locale}/shop/shops"]["get"]
    locale = next(parameter for parameter in shops["parameters"] if parameter["name"] == "locale")
    assert locale["schema"]["enum"] == ["lt", "en"]
    query = {parameter["name"] for parameter in shops["parameters"] if parameter["in"] == "query"}
    assert query == {"page", "per_page", "is_active", "is_virtual"}
    assert shops["security"] == [{"ShopApiKey": [], "ShopApiSecret": []}]
    refusal = shops["responses"]["401"]["content"]["application/json"]["schema"]
    assert refusal["properties"]["code"]["enum"] == ["INVALID_CREDENTIALS"]
    assert set(refusal["required"]) == {"success", "message", "code"}


def test_every_shop_operation_is_documented_with_its_errors(platform_client):
    shop = _schema(platform_client, "/api/shop/schema/")
    for path, item in shop["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"].startswith("shop_"), (path, method)
            assert operation.get("summary"), (path, method)
            assert {"200", "401", "429", "503"} <= set(operation["responses"]), (path, method)


def test_the_shop_api_docs_page_is_served_offline(platform_client):
    page = platform_client.get("/api/shop/docs/")
    assert page.status_code == 200
    assert "cdn" not in page.content.decode().lower()
