"""The verification code the portal shows, run as a receiver would run it: the Python snippet
(standardwebhooks and a plain HMAC) and the JavaScript one under Node, against a request
signed as the wire format says, during a rotation's overlap too; a changed body or another
secret is refused."""

import base64
import hashlib
import hmac
import html
import json
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context
from standardwebhooks import Webhook, WebhookVerificationError

from loyalty_platform.webhooks.services import _secret_new, endpoint_create
from tests.factories import StaffUserFactory
from tests.webhooks.test_portal import BASE, signed_in

VARIABLE = "LOYALTY_WEBHOOK_SECRET"


def signed_request(secrets: list[str], *, organization: str = "test-a") -> tuple[bytes, dict[str, str]]:
    """A body and its headers as the wire format has them, signed with each secret, newest first."""
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "id": event_id,
            "type": "points.earned",
            "timestamp": "2025-03-01T12:00:00Z",
            "organization": organization,
            "data": {"customer_code": "123456", "points": 5, "balance": 105, "note": "café ✓"},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    now = datetime.now(UTC)
    return body, {
        "content-type": "application/json",
        "user-agent": "LoyaltyPlatform-Webhooks/1.0",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(event_id, now, body.decode()) for secret in secrets
        ),
        "X-Loyalite-Signature-256": ", ".join(
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() for secret in secrets
        ),
    }


def standard_signature(secret: str, event_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature computed from its definition, not the library."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@pytest.fixture
def snippets(organization, endpoint_id) -> dict[str, str]:
    page = signed_in(organization, "developer").get(f"{BASE}{endpoint_id}/verify/").content.decode()
    found = re.findall(r'data-snippet="(\w+)"><code>(.*?)</code></pre>', page, flags=re.S)
    return {language: html.unescape(code) for language, code in found}


@pytest.fixture
def endpoint_id(organization):
    with tenant_context(organization):
        endpoint, _secret = endpoint_create(
            url="http://127.0.0.1:9/hook", description="", event_types=["*"], staff_user=StaffUserFactory()
        )
    return endpoint.pk


def test_the_page_shows_both_snippets_reading_the_secret_from_the_environment(snippets):
    assert sorted(snippets) == ["javascript", "python"]
    assert f'os.environ["{VARIABLE}"]' in snippets["python"]
    assert f"process.env.{VARIABLE}" in snippets["javascript"]


def test_the_headers_built_here_follow_the_definition_of_the_signature():
    secret = _secret_new()
    body, headers = signed_request([secret])
    assert headers["webhook-signature"] == standard_signature(
        secret, headers["webhook-id"], headers["webhook-timestamp"], body
    )


def run_python(snippet: str, secret: str, body: bytes, headers: dict[str, str], monkeypatch):
    monkeypatch.setenv(VARIABLE, secret)
    namespace: dict = {}
    exec(compile(snippet, "verify.py", "exec"), namespace)  # noqa: S102 (the page's own snippet)
    return namespace["verify"](body, headers)


def test_the_python_snippet_accepts_a_signed_request(snippets, monkeypatch):
    secret = _secret_new()
    body, headers = signed_request([secret])
    event = run_python(snippets["python"], secret, body, headers, monkeypatch)
    assert (event["id"], event["data"]["note"]) == (headers["webhook-id"], "café ✓")


def test_the_python_snippet_accepts_either_secret_during_a_rotation(snippets, monkeypatch):
    new, old = _secret_new(), _secret_new()
    body, headers = signed_request([new, old])
    for secret in (new, old):
        assert (
            run_python(snippets["python"], secret, body, headers, monkeypatch)["id"] == headers["webhook-id"]
        )


@pytest.mark.parametrize(
    ("change", "refusal"),
    [("body", WebhookVerificationError), ("secret", WebhookVerificationError), ("hmac_header", ValueError)],
)
def test_the_python_snippet_refuses_a_changed_body_or_another_secret(snippets, monkeypatch, change, refusal):
    secret = _secret_new()
    body, headers = signed_request([secret])
    if change == "body":
        body = body.replace(b'"points":5', b'"points":500')
    elif change == "secret":
        secret = _secret_new()
    else:
        # The Standard Webhooks signature holds; the plain HMAC header does not.
        headers["X-Loyalite-Signature-256"] = "sha256=" + "0" * 64
    with pytest.raises(refusal):
        run_python(snippets["python"], secret, body, headers, monkeypatch)


HARNESS = """
const fs = require("node:fs");
const { verify } = require("./verify.js");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const headers = {};
for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
try {
  const event = verify(Buffer.from(input.body, "base64"), headers);
  console.log(JSON.stringify({ ok: true, id: event.id, note: event.data.note }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error.message }));
}
"""


def run_node(snippet: str, secret: str, body: bytes, headers: dict[str, str], tmp_path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    (tmp_path / "verify.js").write_text(snippet)
    (tmp_path / "harness.js").write_text(HARNESS)
    done = subprocess.run(
        [node, "harness.js"],
        cwd=tmp_path,
        input=json.dumps({"body": base64.b64encode(body).decode(), "headers": headers}),
        capture_output=True,
        text=True,
        env={VARIABLE: secret, "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_javascript_snippet_accepts_a_signed_request_and_either_secret_of_a_rotation(snippets, tmp_path):
    new, old = _secret_new(), _secret_new()
    body, headers = signed_request([new, old])
    for secret in (new, old):
        assert run_node(snippets["javascript"], secret, body, headers, tmp_path) == {
            "ok": True,
            "id": headers["webhook-id"],
            "note": "café ✓",
        }


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("body", "X-Loyalite-Signature-256 does not match"),
        ("secret", "X-Loyalite-Signature-256 does not match"),
        ("standard_signature", "webhook-signature does not match"),
        ("old_timestamp", "webhook-timestamp is missing or more than 5 minutes off"),
    ],
)
def test_the_javascript_snippet_refuses_a_changed_request(snippets, tmp_path, change, error):
    secret = _secret_new()
    body, headers = signed_request([secret])
    if change == "body":
        body = body.replace(b'"points":5', b'"points":500')
    elif change == "secret":
        secret = _secret_new()
    elif change == "standard_signature":
        headers["webhook-signature"] = standard_signature(_secret_new(), headers["webhook-id"], "1", body)
    else:
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 3600)
    assert run_node(snippets["javascript"], secret, body, headers, tmp_path) == {"ok": False, "error": error}
