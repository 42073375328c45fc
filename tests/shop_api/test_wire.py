"""The Shop API's wire rules in-process (Django's test client, each test rolled back): the
same key, rate limit, subscription and request-guard rules as the POS API, in the Shop API's
envelope and the path's language."""

import json

from django.test import Client
from django.utils import timezone

from tenants.models import Subscription
from tests.pos_fixtures import issue_key
from tests.shop_api.conftest import shop_credentials


class ShopClient:
    def __init__(self, host: str, raw_key: str):
        self.client = Client(HTTP_HOST=host)
        api_key, secret = shop_credentials(raw_key)
        self.headers = {"HTTP_X_API_KEY": api_key, "HTTP_X_API_SECRET": secret}

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(path, params or {}, **{**self.headers, **headers})

    def post(self, path: str, body=None, raw: bytes | None = None, **headers):
        content = raw if raw is not None else json.dumps(body or {})
        return self.client.post(
            path, data=content, content_type="application/json", **{**self.headers, **headers}
        )


def test_the_rate_limit_answers_429_with_retry_after(organization):
    shop = ShopClient("test-a.localhost", issue_key(organization, rate_limits={"customer": 2}))
    answers = [shop.get("/lt/shop/shops") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    refusal = answers[2].json()
    assert (refusal["success"], refusal["code"]) == (False, "TOO_MANY_REQUESTS")
    assert refusal["message"] == "Per daug užklausų; bandykite vėliau."
    assert int(answers[2]["Retry-After"]) == refusal["retry_after"] >= 1


def test_a_lapsed_subscription_refuses_writes_with_402_but_reads_go_on(organization):
    from loyalty_platform.identification.models import QrCardSession

    shop = ShopClient("test-a.localhost", issue_key(organization))
    Subscription.objects.filter(organization=organization).update(ends_at=timezone.now())
    Subscription.objects.filter(organization=organization).first().save()  # signals forget the cache
    refused = shop.post("/en/shop/qr-card/generate", {"device_name": "Till"})
    assert (refused.status_code, refused.json()["code"]) == (402, "SUBSCRIPTION_REQUIRED")
    assert QrCardSession.objects.count() == 0
    assert shop.get("/en/shop/shops").status_code == 200


def test_a_key_of_another_organization_is_refused_on_this_organizations_host(
    organization, other_organization
):
    theirs = ShopClient("test-a.localhost", issue_key(other_organization))
    refusal = theirs.get("/en/shop/shops")
    assert (refusal.status_code, refusal.json()["code"]) == (401, "INVALID_CREDENTIALS")
    on_platform_host = ShopClient("localhost", issue_key(other_organization))
    answer = on_platform_host.post("/en/shop/validate-credentials")
    assert answer.json()["data"]["partner"]["id"] == other_organization.pk


def test_half_a_key_or_a_pos_key_header_is_refused(organization):
    raw_key = issue_key(organization)
    api_key, secret = shop_credentials(raw_key)
    client = Client(HTTP_HOST="test-a.localhost")
    for headers in (
        {"HTTP_X_API_KEY": api_key},
        {"HTTP_X_API_SECRET": secret},
        {"HTTP_X_API_KEY": raw_key},
        {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"},
        {"HTTP_X_API_KEY": api_key.removeprefix("lty_"), "HTTP_X_API_SECRET": secret + "x"},
    ):
        refusal = client.get("/en/shop/shops", **headers)
        assert (refusal.status_code, refusal.json()["code"]) == (401, "INVALID_CREDENTIALS"), headers
    bare = client.get("/en/shop/shops", HTTP_X_API_KEY=api_key.removeprefix("lty_"), HTTP_X_API_SECRET=secret)
    assert bare.status_code == 200


def test_bad_requests_are_refused_in_the_envelope(organization):
    shop = ShopClient("test-a.localhost", issue_key(organization))
    nul = shop.get("/lt/shop/shops", {"page": "1\x00"})
    assert (nul.status_code, nul.json()["code"], nul.json()["success"]) == (400, "INVALID_CHARACTERS", False)
    assert nul.json()["message"] == "Užklausoje yra neleistinų simbolių."
    large = shop.post("/en/shop/qr-card/generate", raw=b'{"device_name": "' + b"x" * 3_000_000 + b'"}')
    assert (large.status_code, large.json()["code"]) == (413, "REQUEST_TOO_LARGE")
    wrong_method = shop.client.delete("/en/shop/shops", **shop.headers)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    for params, code in (({"page": "0"}, "PAGE_INVALID"), ({"per_page": "101"}, "PER_PAGE_INVALID")):
        refusal = shop.get("/en/shop/shops", params)
        assert (refusal.status_code, refusal.json()["code"], refusal.json()["field"]) == (
            422,
            code,
            next(iter(params)),
        )
    flag = shop.get("/en/shop/shops", {"is_active": "yes"})
    assert (flag.status_code, flag.json()["code"], flag.json()["field"]) == (
        422,
        "IS_ACTIVE_INVALID",
        "is_active",
    )
    not_an_object = shop.post("/en/shop/qr-card/generate", raw=b"[1, 2]")
    assert (not_an_object.status_code, not_an_object.json()["code"]) == (422, "INVALID_BODY")
    typed = shop.post("/en/shop/qr-card/generate", {"device_name": 5})
    assert (typed.status_code, typed.json()["code"]) == (422, "DEVICE_NAME_INVALID")


def test_an_unknown_locale_is_not_the_shop_api(organization):
    shop = ShopClient("test-a.localhost", issue_key(organization))
    assert shop.get("/de/shop/shops").status_code == 404
