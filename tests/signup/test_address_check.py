"""GET /signup/address?slug=: the sign-up page's live availability check."""

import pytest

from tenants.models import Domain


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        (
            "?slug=cafe-luna",
            200,
            {"slug": "cafe-luna", "address": "cafe-luna.localhost:8000", "available": True},
        ),
        (
            "?slug=%20Cafe-Luna%20",
            200,
            {"slug": "cafe-luna", "address": "cafe-luna.localhost:8000", "available": True},
        ),
        ("?slug=admin", 200, {"slug": "admin", "available": False, "error": "slug_reserved"}),
        ("?slug=test-a", 200, {"slug": "test-a", "available": False, "error": "slug_taken"}),
        ("?slug=custom", 200, {"slug": "custom", "available": False, "error": "slug_taken"}),
        ("", 400, {"slug": "", "available": False, "error": "slug_required"}),
        ("?slug=", 400, {"slug": "", "available": False, "error": "slug_required"}),
        ("?slug=ab", 400, {"slug": "ab", "available": False, "error": "slug_too_short"}),
        ("?slug=" + "a" * 41, 400, {"slug": "a" * 41, "available": False, "error": "slug_too_long"}),
        ("?slug=" + "a" * 5000, 400, {"slug": "a" * 100, "available": False, "error": "slug_too_long"}),
        ("?slug=caf%C3%A9", 400, {"slug": "café", "available": False, "error": "slug_invalid"}),
        ("?slug=%3Cscript%3E", 400, {"slug": "<script>", "available": False, "error": "slug_invalid"}),
        ("?slug=a&slug=admin", 200, {"slug": "admin", "available": False, "error": "slug_reserved"}),
    ],
)
def test_the_address_check_answers_each_input(platform_client, organization, query, status, body):
    Domain.objects.create(domain="custom.localhost", tenant=organization, is_primary=False)

    response = platform_client.get("/signup/address" + query)

    assert response.status_code == status
    answer = response.json()
    assert {key: answer[key] for key in body} == body
    assert answer["message"]
    assert "address" in answer


def test_a_nul_character_is_refused_before_the_check(platform_client):
    # core.request_guard answers it (400) for every path.
    assert platform_client.get("/signup/address?slug=a%00b").status_code == 400


def test_the_address_check_is_read_only(platform_client):
    assert platform_client.post("/signup/address?slug=cafe").status_code == 405


def test_the_address_check_is_rate_limited_per_ip(platform_client, settings):
    settings.ABUSE_LIMITS = {**settings.ABUSE_LIMITS, "signup_address_ip": (3, 600)}

    answers = [platform_client.get("/signup/address?slug=cafe", REMOTE_ADDR="10.9.9.9") for _ in range(4)]
    other_ip = platform_client.get("/signup/address?slug=cafe", REMOTE_ADDR="10.9.9.8")

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"] == "rate_limited"
    assert 0 < int(answers[-1]["Retry-After"]) <= 600
    assert other_ip.status_code == 200


def test_an_organization_host_has_no_sign_up(client_a):
    assert client_a.get("/signup/address?slug=cafe").status_code == 404
    assert client_a.get("/signup").status_code == 404
