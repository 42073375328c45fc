from django_tenants.utils import tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.campaigns.models import Campaign, Segment
from loyalty_platform.demo.setup import demo_platform_ensure
from loyalty_platform.programs.models import Program
from loyalty_platform.shops.models import Shop
from tenants.models import ApiKey, Domain, Organization
from tests.conftest import HostClient


def _counts() -> dict:
    demo = Organization.objects.get(slug="demo")
    with tenant_context(demo):
        tenant_counts = {
            "programs": Program.objects.count(),
            "shops": Shop.objects.count(),
            "staff": User.objects.count(),
            "segments": Segment.objects.count(),
            "draft campaigns": Campaign.objects.filter(status="draft").count(),
        }
    return {
        "organizations": Organization.objects.filter(slug="demo").count(),
        "domains": Domain.objects.filter(tenant=demo).count(),
        "api_keys": ApiKey.objects.filter(organization=demo).count(),
        "operators": User.objects.count(),
        **tenant_counts,
    }


def test_demo_setup_twice_creates_nothing_twice_and_prints_the_same_credentials(db, settings, tmp_path):
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"

    first = demo_platform_ensure()
    counts = _counts()
    second = demo_platform_ensure()

    assert _counts() == counts
    assert counts == {
        "organizations": 1,
        "domains": 1,
        "api_keys": 1,
        "operators": 1,
        "programs": 2,
        "shops": 1,
        "staff": 1,
        "segments": 1,
        "draft campaigns": 1,
    }
    assert second == first
    assert first.api_key.startswith("sk_live_")


def test_printed_demo_logins_work(db, settings, tmp_path):
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    credentials = demo_platform_ensure()

    demo_client = HostClient(Organization.objects.get(slug="demo"))
    assert demo_client.login(email=credentials.staff_email, password=credentials.staff_password)
    assert demo_client.get("/admin/programs/program/").status_code == 200

    platform_client = HostClient(None)
    assert platform_client.login(email=credentials.operator_email, password=credentials.operator_password)
    assert platform_client.get("/admin/tenants/organization/").status_code == 200
