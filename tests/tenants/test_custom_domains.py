"""Custom domains: host name rules, the TXT check against a real DNS server on the loopback
(tests/dns_server.py), routing once verified, and organizations' competing claims."""

import pytest
from django.urls import reverse as reverse_any

from loyalty_platform.accounts.models import User
from tenants.domains import CustomDomainError, custom_domain_add, custom_domain_remove, custom_domain_verify
from tenants.models import CustomDomain, Domain
from tenants.selectors import organization_for_hostname
from tests.dns_server import LocalDns

HOST = "loyalty.cafe-luna.example"


def reverse(name: str) -> str:
    return reverse_any(name, urlconf="loyalty_platform.urls_public")


@pytest.fixture
def local_dns(settings):
    """The verification's resolver is a DNS server of the test's own (a short timeout for
    the names it leaves unanswered)."""
    with LocalDns() as server:
        settings.DOMAIN_VERIFICATION_NAMESERVERS = [server.address]
        settings.DOMAIN_VERIFICATION_TIMEOUT = 0.5
        yield server


def publish(dns_server, custom_domain: CustomDomain, *values: str) -> None:
    dns_server.txt[custom_domain.record_name] = list(values) or [custom_domain.record_value]


def state(custom_domain: CustomDomain) -> tuple:
    custom_domain.refresh_from_db()
    return (custom_domain.is_verified, custom_domain.last_error, custom_domain.last_checked_at is not None)


def test_a_claim_gets_its_own_token_and_record(organization):
    claim = custom_domain_add(organization=organization, hostname="  Loyalty.Cafe-Luna.Example. ")

    assert claim.hostname == HOST
    assert claim.record_name == f"_loyalty-verification.{HOST}"
    assert claim.record_value == f"loyalty-verification={claim.token}"
    assert len(claim.token) == 32
    assert (claim.is_verified, claim.last_checked_at, claim.last_error) == (False, None, "")
    assert not Domain.objects.filter(domain=HOST).exists()


@pytest.mark.parametrize(
    ("hostname", "code"),
    [
        ("", "hostname_invalid"),
        ("https://loyalty.example.com", "hostname_invalid"),
        ("loyalty.example.com:8443", "hostname_invalid"),
        ("intranet", "hostname_invalid"),
        ("10.1.2.3", "hostname_invalid"),
        ("bad_name.example.com", "hostname_invalid"),
        ("localhost", "hostname_platform"),
        ("127.0.0.1", "hostname_platform"),
        ("shop.localhost", "hostname_platform"),
        ("deep.test-b.localhost", "hostname_platform"),
    ],
)
def test_host_names_that_cannot_be_claimed(organization, hostname, code):
    with pytest.raises(CustomDomainError) as refused:
        custom_domain_add(organization=organization, hostname=hostname)

    assert refused.value.code == code
    assert not CustomDomain.objects.exists()


def test_any_organization_s_routed_host_cannot_be_claimed(organization, other_organization):
    Domain.objects.create(domain="shop.other.example", tenant=other_organization, is_primary=False)

    with pytest.raises(CustomDomainError) as refused:
        custom_domain_add(organization=organization, hostname="shop.other.example")

    assert refused.value.code == "hostname_taken"
    assert not CustomDomain.objects.exists()


def test_an_organization_claims_a_name_once(organization):
    custom_domain_add(organization=organization, hostname=HOST)

    with pytest.raises(CustomDomainError) as refused:
        custom_domain_add(organization=organization, hostname=HOST.upper())

    assert refused.value.code == "already_claimed"
    assert CustomDomain.objects.count() == 1


def test_the_right_txt_record_verifies_and_routes_the_host(organization, local_dns):
    claim = custom_domain_add(organization=organization, hostname=HOST)
    publish(local_dns, claim, "v=spf1 -all", claim.record_value)
    assert organization_for_hostname(HOST) is None

    checked = custom_domain_verify(custom_domain=claim)

    assert (checked.is_verified, checked.last_error) == (True, "")
    assert state(claim) == (True, "", True)
    domain = Domain.objects.get(domain=HOST)
    assert (domain.tenant_id, domain.is_primary) == (organization.pk, False)
    assert organization_for_hostname(HOST).pk == organization.pk
    assert local_dns.queries == [claim.record_name]


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (
            lambda dns_server, claim: publish(dns_server, claim, "loyalty-verification=somebody-else"),
            "txt_mismatch",
        ),
        (lambda dns_server, claim: None, "txt_missing"),
        (lambda dns_server, claim: dns_server.silent.add(claim.record_name), "dns_timeout"),
        (lambda dns_server, claim: dns_server.failing.add(claim.record_name), "dns_error"),
    ],
    ids=["wrong value", "no record", "no answer", "server failure"],
)
def test_a_failed_check_records_why_and_routes_nothing(organization, local_dns, arrange, code):
    claim = custom_domain_add(organization=organization, hostname=HOST)
    arrange(local_dns, claim)

    checked = custom_domain_verify(custom_domain=claim)

    assert (checked.is_verified, checked.last_error) == (False, code)
    assert state(claim) == (False, code, True)
    assert not Domain.objects.filter(domain=HOST).exists()
    assert organization_for_hostname(HOST) is None


def test_a_record_published_later_verifies_on_the_next_check(organization, local_dns):
    claim = custom_domain_add(organization=organization, hostname=HOST)
    assert custom_domain_verify(custom_domain=claim).last_error == "txt_missing"

    publish(local_dns, claim)

    assert custom_domain_verify(custom_domain=claim).is_verified


def test_the_first_organization_to_verify_gets_the_name(organization, other_organization, local_dns):
    ours = custom_domain_add(organization=organization, hostname=HOST)
    theirs = custom_domain_add(
        organization=other_organization, hostname=HOST
    )  # a pending claim is no obstacle
    publish(local_dns, ours, ours.record_value, theirs.record_value)

    assert custom_domain_verify(custom_domain=theirs).is_verified
    checked = custom_domain_verify(custom_domain=ours)

    assert (checked.is_verified, checked.last_error) == (False, "hostname_claimed")
    assert list(Domain.objects.filter(domain=HOST).values_list("tenant_id", flat=True)) == [
        other_organization.pk
    ]
    assert organization_for_hostname(HOST).pk == other_organization.pk


def test_a_verified_name_cannot_be_claimed_again(organization, other_organization, local_dns):
    claim = custom_domain_add(organization=other_organization, hostname=HOST)
    publish(local_dns, claim)
    custom_domain_verify(custom_domain=claim)

    with pytest.raises(CustomDomainError) as refused:
        custom_domain_add(organization=organization, hostname=HOST)

    # Its Domain row answers first: the name routes to the other organization.
    assert refused.value.code == "hostname_taken"
    assert CustomDomain.objects.filter(organization=organization).count() == 0


def test_removing_a_verified_claim_stops_its_routing(organization, local_dns):
    claim = custom_domain_add(organization=organization, hostname=HOST)
    publish(local_dns, claim)
    custom_domain_verify(custom_domain=claim)
    assert organization_for_hostname(HOST).pk == organization.pk

    custom_domain_remove(custom_domain=claim)

    assert not CustomDomain.objects.exists()
    assert not Domain.objects.filter(domain=HOST).exists()
    assert organization_for_hostname(HOST) is None
    assert Domain.objects.filter(tenant=organization, is_primary=True).exists()


@pytest.fixture
def operator_client(platform_client):
    operator = User.objects.create_superuser("operator@example.com", "correct horse battery")
    platform_client.force_login(operator)
    return platform_client


def test_the_operator_adds_a_claim_and_verifies_it_from_the_console(organization, operator_client, local_dns):
    add_url = reverse("platform_admin:tenants_customdomain_add")
    refused = operator_client.post(add_url, {"organization": organization.pk, "hostname": "shop.localhost"})
    assert refused.status_code == 200
    assert "the platform&#x27;s own host or under it" in refused.content.decode()
    assert not CustomDomain.objects.exists()

    added = operator_client.post(add_url, {"organization": organization.pk, "hostname": HOST}, follow=True)
    claim = CustomDomain.objects.get()
    assert added.status_code == 200
    assert f"_loyalty-verification.{HOST} = loyalty-verification={claim.token}" in added.content.decode()

    changelist = reverse("platform_admin:tenants_customdomain_changelist")
    action = {"action": "verify_now", "_selected_action": [claim.pk]}
    missing = operator_client.post(changelist, action, follow=True)
    assert "No TXT record at the name yet." in missing.content.decode()
    assert f"loyalty-verification={claim.token}" in missing.content.decode()

    publish(local_dns, claim)
    verified = operator_client.post(changelist, action, follow=True)
    assert f"{HOST} is verified and routes to" in verified.content.decode()
    assert Domain.objects.filter(domain=HOST, tenant=organization).exists()


def test_merchant_staff_cannot_open_the_custom_domain_pages(organization, platform_client):
    staff = User.objects.create_user("owner@example.com", "correct horse battery", is_staff=True)
    platform_client.force_login(staff)

    response = platform_client.get(reverse("platform_admin:tenants_customdomain_changelist"))

    # The platform admin is for operators (superusers) only: anyone else is sent to sign in.
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
