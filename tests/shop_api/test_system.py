import threading
import time
import uuid

import requests

from tests.shop_api.conftest import in_shop, make_sdk, refused, shop_credentials, unique_email


def test_validate_credentials_names_the_organization(sdk, shop_organization):
    data = sdk.validate_credentials()
    assert data["valid"] is True
    assert data["partner"]["name"] == shop_organization.name
    assert data["api_key"]["key"] == sdk.api_key


def test_a_wrong_secret_is_refused_in_the_paths_language(server, shop_key):
    api_key, secret = shop_credentials(shop_key)
    wrong = make_sdk(server, f"sk_live_{api_key.removeprefix('lty_')}_{secret[::-1]}x", locale="lt")
    error = refused(wrong.validate_credentials)
    assert (error.http_status, error.code) == (401, "INVALID_CREDENTIALS")
    assert error.message == "Neteisingas API raktas arba slaptažodis."
    english = make_sdk(server, f"sk_live_{api_key.removeprefix('lty_')}_nope", locale="en")
    assert refused(english.get_shops).code == "INVALID_CREDENTIALS"


def test_the_envelope_of_an_answer_and_of_a_refusal(server, shop_key):
    api_key, secret = shop_credentials(shop_key)
    base = f"http://localhost:{server.port}/en/shop"
    headers = {"X-API-Key": api_key, "X-API-Secret": secret}
    answer = requests.get(f"{base}/shops", headers=headers, timeout=10)
    assert answer.status_code == 200
    assert set(answer.json()) == {"success", "data", "meta"}
    assert answer.json()["success"] is True
    missing = requests.get(f"{base}/no-such-call", headers=headers, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "message": "No such path, or a path segment of the wrong form.",
        "code": "NOT_FOUND",
    }
    bad = requests.post(
        f"{base}/qr-card/generate",
        data=b"{",
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert (bad.status_code, bad.json()["success"], bad.json()["code"]) == (400, False, "INVALID_JSON")
    unknown = requests.get(f"{base}/shops", params={"colour": "red"}, headers=headers, timeout=10)
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        422,
        "UNKNOWN_FIELD",
        "colour",
    )


def test_health(sdk):
    assert sdk.health_check()["status"] == "ok"


def test_xml_import_is_not_supported(sdk):
    for call, args in ((sdk.import_from_url, ("https://shop.example/feed.xml",)), (sdk.get_import_stats, ())):
        error = refused(call, *args)
        assert (error.http_status, error.code) == (501, "NOT_SUPPORTED")


def test_shops_are_listed_with_pages(sdk, shop_organization):
    from loyalty_platform.shops.services import shop_create

    with in_shop(shop_organization):
        names = [f"Shop {uuid.uuid4().hex[:6]}" for _ in range(3)]
        for name in names:
            shop_create(name=name)
    listed = sdk.get_shops(per_page=100)
    assert set(names) <= {shop["name"] for shop in listed["data"]}
    assert listed["meta"]["per_page"] == 100
    page = sdk.get_shops(per_page=1, page=2)
    assert (len(page["data"]), page["meta"]["current_page"]) == (1, 2)
    assert page["meta"]["last_page"] == page["meta"]["total"]
    assert sdk.get_shops(is_virtual=True)["data"] == []


def test_qr_card_session_polls_to_completed(sdk, shop_organization):
    from loyalty_platform.customers.services import customer_enroll
    from loyalty_platform.identification.services import qr_card_session_identify

    session = sdk.generate_qr_card_session("Till 3")
    assert session["qr_code"].endswith(f"/identify/{session['session_id']}")
    assert sdk.poll_qr_card_status(session["session_id"])["status"] == "pending"
    with in_shop(shop_organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        qr_card_session_identify(session_id=session["session_id"], customer=customer)
    polled = sdk.poll_qr_card_status(session["session_id"])
    assert polled["status"] == "completed"
    assert polled["card_data"]["customer_code"] == customer.customer_code


def test_a_qr_session_of_another_organization_is_not_found(sdk, sdk_other):
    session = sdk.generate_qr_card_session("Till 3")
    error = refused(sdk_other.poll_qr_card_status, session["session_id"])
    assert (error.http_status, error.code) == (404, "QR_SESSION_NOT_FOUND")


def test_realtime_config_is_what_the_sdk_connects_to(sdk, server):
    config = sdk.get_realtime_config()
    assert (config["host"], config["port"], config["scheme"]) == ("localhost", server.port, "http")


def test_the_sdk_hears_the_card_identified_on_its_realtime_subscription(sdk, shop_organization):
    from loyalty_platform.customers.services import customer_enroll
    from loyalty_platform.identification.services import qr_card_session_identify

    session = sdk.generate_qr_card_session("Till 4")
    heard: list = []
    subscribed = threading.Event()

    def listen(event: str, payload: dict):
        subscribed.set()
        if event == "card_identified":
            heard.append(payload)
            return True
        return None

    listener = threading.Thread(
        target=lambda: sdk.subscribe_qr_card(session["session_id"], callback=listen, timeout=20)
    )
    listener.start()
    with in_shop(shop_organization):
        customer, _ = customer_enroll(email=unique_email(), consent_terms=True, consent_privacy=True)
    # The SDK only hands frames of the channel to the callback; wait until it is subscribed.
    deadline = time.monotonic() + 10
    while not _subscribed(session["session_id"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    with in_shop(shop_organization):
        qr_card_session_identify(session_id=session["session_id"], customer=customer)
    listener.join(timeout=25)
    assert len(heard) == 1
    assert heard[0]["status"] == "authenticated"
    assert heard[0]["card_data"]["customer_code"] == customer.customer_code


def _subscribed(session_id: str) -> bool:
    """Whether a socket joined the session's channel (its group in the channel layer)."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group = f"qr-card.{session_id}"

    async def members() -> int:
        connection = layer.connection(layer.consistent_hash(group))
        return await connection.zcard(layer._group_key(group))

    return async_to_sync(members)() > 0
