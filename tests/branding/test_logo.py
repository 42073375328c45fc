"""The organization's logo: uploaded by staff, re-encoded, audited, served on its own host."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from loyalty_platform.audit.models import AuditLogEntry
from loyalty_platform.branding.models import Logo
from tests.factories import StaffUserFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_bytes(size: tuple[int, int], image_format: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=image_format)
    return out.getvalue()


def signed_in_staff(client, organization):
    with tenant_context(organization):
        user = StaffUserFactory()
    assert client.login(email=user.email, password="correct horse battery")
    return user


def upload(client, content: bytes, name: str = "logo.png"):
    return client.post("/admin/branding/logo/add/", {"upload": SimpleUploadedFile(name, content)})


def stored(organization) -> list[Logo]:
    with tenant_context(organization):
        return list(Logo.objects.all())


def logo_audit(organization) -> list[tuple[str, dict]]:
    with tenant_context(organization):
        return list(
            AuditLogEntry.objects.filter(action__startswith="logo_")
            .order_by("pk")
            .values_list("action", "details")
        )


def test_an_uploaded_logo_is_reencoded_audited_and_served_with_its_digest(organization, client_a):
    user = signed_in_staff(client_a, organization)

    response = upload(client_a, image_bytes((1024, 512), "JPEG"), "logo.jpg")

    assert response.status_code == 302
    [logo] = stored(organization)
    assert (logo.width, logo.height) == (256, 128)
    assert bytes(logo.png).startswith(PNG_SIGNATURE)
    with tenant_context(organization):
        entry = AuditLogEntry.objects.get(action="logo_replace")
    assert (entry.actor_id, entry.details) == (user.pk, {"width": 256, "height": 128, "bytes": len(logo.png)})
    served = client_a.get(f"/logo.png?v={logo.digest}")
    assert served.status_code == 200
    assert (served["Content-Type"], served.content) == ("image/png", bytes(logo.png))
    assert "immutable" in served["Cache-Control"]
    assert "immutable" not in client_a.get("/logo.png?v=old").get("Cache-Control")
    # The portal shows it beside the organization's name.
    assert f'src="/logo.png?v={logo.digest}"' in client_a.get("/admin/").content.decode()


def test_a_new_logo_replaces_the_old_one(organization, client_a):
    signed_in_staff(client_a, organization)
    upload(client_a, image_bytes((64, 64)))
    [first] = stored(organization)

    response = client_a.post(
        f"/admin/branding/logo/{first.pk}/change/",
        {"upload": SimpleUploadedFile("b.png", image_bytes((32, 40)))},
    )

    assert response.status_code == 302
    [second] = stored(organization)
    assert (second.width, second.height) == (32, 40)
    assert second.digest != first.digest
    assert [action for action, _ in logo_audit(organization)] == ["logo_replace", "logo_replace"]
    assert logo_audit(organization)[1][1]["replaced"] == first.digest


def test_what_is_not_an_accepted_image_is_refused_and_changes_nothing(organization, client_a):
    signed_in_staff(client_a, organization)
    refusals = [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.svg"),
        (b"not an image at all", "logo.png"),
        (image_bytes((8, 8), "BMP"), "logo.bmp"),
        (image_bytes((4100, 4100)), "huge.png"),
        (b"\x89PNG" + b"0" * (1024 * 1024), "big.png"),
    ]

    for content, name in refusals:
        response = upload(client_a, content, name)
        assert response.status_code == 200, name
        assert response.context["adminform"].form.errors["upload"], name

    assert stored(organization) == []
    assert logo_audit(organization) == []


def test_removing_the_logo_is_audited(organization, client_a):
    signed_in_staff(client_a, organization)
    upload(client_a, image_bytes((16, 16)))
    [logo] = stored(organization)

    response = client_a.post(f"/admin/branding/logo/{logo.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert stored(organization) == []
    assert [action for action, _ in logo_audit(organization)] == ["logo_replace", "logo_remove"]
    assert client_a.get("/logo.png").status_code == 404


def test_another_organizations_host_serves_only_its_own_logo(organization, client_a, client_b):
    signed_in_staff(client_a, organization)
    upload(client_a, image_bytes((16, 16)))
    [logo] = stored(organization)

    assert client_b.get(f"/logo.png?v={logo.digest}").status_code == 404
    # Staff of B signed in on A's host are not A's staff.
    assert client_b.post("/logo.png").status_code == 405
