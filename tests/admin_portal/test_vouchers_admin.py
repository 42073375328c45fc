import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from loyalty_platform.vouchers.models import Promotion, Voucher
from tests.admin_portal.test_merchant_admin import staff_login
from tests.pos_fixtures import create_customer


def promotion(organization) -> Promotion:
    with tenant_context(organization):
        return Promotion.objects.create(title="Spring", uses_per_voucher=2)


def test_generate_and_export_codes(organization, client_a):
    staff_login(client_a, organization)
    spring = promotion(organization)

    generated = client_a.post(
        f"/admin/vouchers/promotion/{spring.pk}/generate/", {"count": 5, "pool": "till flyers"}
    )
    export = client_a.get(f"/admin/vouchers/promotion/{spring.pk}/export.csv")

    assert generated.status_code == 302
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    with tenant_context(organization):
        codes = sorted(Voucher.objects.values_list("code", flat=True))
    assert rows[0] == ["code", "status", "uses", "uses_per_voucher", "valid_from", "valid_until", "pool"]
    assert sorted(row[0] for row in rows[1:]) == codes and len(codes) == 5
    assert all(row[1:4] == ["active", "0", "2"] and row[6] == "till flyers" for row in rows[1:])


def test_import_codes_from_csv_all_or_nothing(organization, client_a):
    staff_login(client_a, organization)
    spring = promotion(organization)
    url = f"/admin/vouchers/promotion/{spring.pk}/import/"

    good = client_a.post(
        url, {"pool": "pos", "file": SimpleUploadedFile("c.csv", b"code\nAB-12-CD\nXYZ999\n")}
    )
    duplicate = client_a.post(
        url, {"pool": "again", "file": SimpleUploadedFile("c.csv", b"NEW123\nab12cd\n")}
    )
    malformed = client_a.post(url, {"pool": "bad", "file": SimpleUploadedFile("c.csv", b"ok1234\n!!\n")})

    assert good.status_code == 302
    assert duplicate.status_code == 200 and "voucher code duplicate: AB12CD" in duplicate.content.decode()
    assert malformed.status_code == 200 and "voucher code invalid" in malformed.content.decode()
    with tenant_context(organization):
        assert sorted(Voucher.objects.values_list("code", "pool")) == [("AB12CD", "pos"), ("XYZ999", "pos")]


def test_wallet_lists_the_customers_usable_vouchers(organization, programs, pos):
    customer = create_customer(organization, points=120)
    spring = promotion(organization)
    with tenant_context(organization):
        Voucher.objects.create(promotion=spring, code="MINE0001", customer=customer)
        Voucher.objects.create(promotion=spring, code="USED0001", customer=customer, status="redeemed")
        Voucher.objects.create(promotion=spring, code="OTHER001")

    wallet = pos.get(f"/webhook/customers/{customer.customer_code}/wallet").json()["data"]

    assert [(v["code"], v["uses_left"]) for v in wallet["vouchers"]] == [("MINE0001", 2)]
    assert (wallet["points"], wallet["points_worth"]) == (120, "1.20")
