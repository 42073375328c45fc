import hashlib
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_exists, tenant_context

from loyalty_platform.accounts.models import User
from loyalty_platform.programs.models import Program
from loyalty_platform.shops.models import Shop
from tenants.models import ApiKey, Domain, Organization, Subscription

API_KEY_PATTERN = re.compile(r"^sk_live_([0-9a-f]{12})_([A-Za-z0-9]{40})$")


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_organization_prints_its_base_url_and_clones_the_schema(db):
    output = run("create_organization", "bakery", "--name", "The Bakery")

    assert output.strip().splitlines()[-1] == "http://bakery.localhost:8000"
    organization = Organization.objects.get(slug="bakery")
    assert organization.schema_name == "org_bakery"
    assert (organization.name, organization.currency, organization.verification_preset) == (
        "The Bakery",
        "EUR",
        "standard",
    )
    assert schema_exists("org_bakery")
    assert list(Domain.objects.filter(tenant=organization).values_list("domain", "is_primary")) == [
        ("bakery.localhost", True)
    ]
    assert Subscription.objects.filter(organization=organization, status="active").count() == 1
    with tenant_context(organization):
        assert Shop.objects.count() == 0
        assert User.objects.count() == 0


def test_create_organization_takes_domains_preset_and_currency(db):
    run(
        "create_organization",
        "deli",
        "--name",
        "Deli",
        "--domain",
        "Rewards.Deli.test",
        "--domain",
        "deli.example",
        "--preset",
        "strict",
        "--currency",
        "gbp",
    )

    organization = Organization.objects.get(slug="deli")
    assert (organization.verification_preset, organization.currency) == ("strict", "GBP")
    assert sorted(Domain.objects.filter(tenant=organization).values_list("domain", "is_primary")) == [
        ("deli.example", False),
        ("deli.localhost", True),
        ("rewards.deli.test", False),
    ]


def test_create_organization_with_demo_data(db):
    run("create_organization", "cafe", "--name", "Café", "--demo-data")

    organization = Organization.objects.get(slug="cafe")
    with tenant_context(organization):
        point = Program.objects.get(kind="point", is_active=True)
        assert (point.earn_points_per_unit, point.redeem_points_per_unit, point.min_redeem_points) == (
            Decimal("1.0000"),
            100,
            100,
        )
        stamp = Program.objects.get(kind="stamp", is_active=True)
        assert (stamp.stamps_per_card, stamp.reward_name) == (10, "Free Coffee")
        assert Shop.objects.count() == 1
        staff = User.objects.get()
        assert staff.email == "staff@cafe.example"
        assert staff.check_password("demo-staff-password")
        shop_id = Shop.objects.get().pk
    assert list(ApiKey.objects.filter(organization=organization).values_list("label", "shop_id")) == [
        ("Demo POS", shop_id)
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad_Slug", "--name", "X"], "invalid slug"),
        (["lead-", "--name", "X"], "invalid slug"),
        (["a--b", "--name", "X"], "invalid slug"),
        (["admin", "--name", "X"], "reserved"),
        (["test-a", "--name", "X"], "already exists"),
        (["fine", "--name", "  "], "needs a name"),
        (["fine", "--name", "X", "--currency", "EURO"], "invalid currency"),
        (["fine", "--name", "X", "--domain", "test-a.localhost"], "already belongs"),
        (["fine", "--name", "X", "--domain", "http://x.test/"], "invalid host name"),
        (["fine", "--name", "X", "--domain", "localhost"], "platform's own host"),
    ],
)
def test_create_organization_refuses_bad_input_and_creates_nothing(db, args, message):
    organizations_before = Organization.objects.count()
    domains_before = Domain.objects.count()

    with pytest.raises(CommandError, match=message):
        run("create_organization", *args)

    assert Organization.objects.count() == organizations_before
    assert Domain.objects.count() == domains_before
    assert not schema_exists("org_fine")


def test_create_api_key_prints_the_key_alone_on_its_last_line(organization):
    output = run("create_api_key", organization.slug, "--label", "Till 1")

    lines = output.strip().splitlines()
    match = API_KEY_PATTERN.match(lines[-1])
    assert match, lines[-1]
    lookup_id, secret = match.groups()
    api_key = ApiKey.objects.get(lookup_id=lookup_id)
    assert (api_key.organization_id, api_key.label, api_key.revoked_at) == (organization.pk, "Till 1", None)
    assert api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(pk=api_key.pk).values().get())


def test_create_api_key_for_unknown_organization_fails(db):
    with pytest.raises(CommandError, match="no organization"):
        run("create_api_key", "nobody")
    assert ApiKey.objects.count() == 0


def test_create_staff_user_can_log_into_its_admin_only(organization, client_a, client_b):
    output = run(
        "create_staff_user", organization.slug, "Owner@Example.com", "--password", "a-long-password-1"
    )

    assert output.strip() == f"staff user owner@example.com created for {organization.slug}"
    assert client_a.login(email="owner@example.com", password="a-long-password-1")
    assert client_a.get("/admin/").status_code == 200
    assert not client_b.login(email="owner@example.com", password="a-long-password-1")


def test_create_staff_user_refuses_duplicates_and_weak_passwords(organization):
    run("create_staff_user", organization.slug, "dup@example.com", "--password", "a-long-password-1")

    with pytest.raises(CommandError, match="already exists"):
        run("create_staff_user", organization.slug, "DUP@example.com", "--password", "a-long-password-2")
    with pytest.raises(CommandError, match="too short"):
        run("create_staff_user", organization.slug, "weak@example.com", "--password", "abc")
    with pytest.raises(CommandError, match="no organization"):
        run("create_staff_user", "nobody", "x@example.com", "--password", "a-long-password-1")

    with tenant_context(organization):
        assert list(User.objects.values_list("email", flat=True)) == ["dup@example.com"]
