"""The till reads the customer's QR through the camera: Chromium's fake camera plays a video
of the QR that the customer's profile shows."""

import json
import uuid

import pytest
import qrcode
from django_tenants.utils import tenant_context
from PIL import Image
from playwright.sync_api import expect

from loyalty_platform.customers.services import customer_enroll
from loyalty_platform.verification.services import customer_qr_payload
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_till import cashier, open_till, till_organization  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("committed_db")]
WIDTH, HEIGHT = 640, 480


def camera_video(path, text: str) -> None:
    """A few frames of Y4M video (what Chromium's fake camera plays) showing `text` as a QR."""
    code = qrcode.make(text, box_size=8, border=4).get_image().convert("L")
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    picture = b"FRAME\n" + frame.tobytes() + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F5:1 Ip A1:1 C420jpeg\n".encode() + picture * 5)


def test_the_camera_reads_the_customers_qr(chromium, server, till_organization, cashier, tmp_path):  # noqa: F811
    with tenant_context(till_organization):
        customer, _ = customer_enroll(
            email=f"{uuid.uuid4().hex}@example.com", consent_terms=True, consent_privacy=True
        )
        payload = customer_qr_payload(organization=till_organization, customer=customer).payload
    video = tmp_path / "qr.y4m"
    camera_video(video, payload)
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        page = browser.new_context(permissions=["camera"]).new_page()
        open_till(page, server, cashier)
        with page.expect_request("**/webhook/customer?qr=*") as lookup:
            page.get_by_role("button", name="Scan the customer's QR").click()
            expect(page.locator("#customer-code")).to_have_text(str(customer.customer_code), timeout=15000)
        assert lookup.value.url.endswith("qr=" + payload)

        page.get_by_label("Amount spent").fill("5")
        with page.expect_request("**/webhook/pos") as earn:
            page.get_by_role("button", name="Earn", exact=True).click()
        expect(page.locator("#balance-points")).to_have_text("5")
    finally:
        browser.close()
    # Scanned, not typed: the call says so (Strict refuses typed codes).
    assert json.loads(earn.value.post_data)["manual_code"] is False
