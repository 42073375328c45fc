import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Domain
from tests.conftest import host_of


def test_platform_host_serves_the_platform_home(platform_client):
    response = platform_client.get("/")
    assert response.status_code == 200
    assert b"Platform admin" in response.content


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000"])
def test_platform_admin_answers_on_every_platform_host(db, client, host):
    response = client.get("/admin/login/", HTTP_HOST=host)
    assert response.status_code == 200
    assert b"Platform admin" in response.content


def test_organization_host_serves_the_organization(client_a, organization):
    response = client_a.get("/")
    assert response.status_code == 200
    assert organization.name.encode() in response.content


def test_organization_host_with_port_routes_the_same(client, organization):
    response = client.get("/", HTTP_HOST=f"{host_of(organization)}:8000")
    assert response.status_code == 200
    assert organization.name.encode() in response.content


def test_merchant_admin_is_titled_with_the_organization(client_a, organization):
    response = client_a.get("/admin/login/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"| {organization.name} </title>" in " ".join(page.split())
    assert "Welcome back to" in page


@pytest.mark.parametrize("host", ["unknown.localhost", "example.com", "test-a.localhost.evil.com"])
def test_unknown_host_is_a_plain_404(db, client, host):
    response = client.get("/admin/", HTTP_HOST=host)
    assert response.status_code == 404
    assert b"No organization answers at this address." in response.content


@pytest.mark.parametrize("host", ["bad host", "a..b", "x" * 300, "évil.localhost"])
def test_malformed_host_is_a_404_not_a_500(db, client, host):
    response = client.get("/", HTTP_HOST=host)
    assert response.status_code == 404


def test_custom_domain_routes_to_its_organization(client, organization):
    Domain.objects.create(domain="rewards.cafe-a.test", tenant=organization, is_primary=False)
    response = client.get("/", HTTP_HOST="rewards.cafe-a.test")
    assert response.status_code == 200
    assert organization.name.encode() in response.content


def test_renamed_domain_is_forgotten_by_the_cache(client, organization):
    domain = Domain.objects.create(domain="old.cafe-a.test", tenant=organization, is_primary=False)
    assert client.get("/", HTTP_HOST="old.cafe-a.test").status_code == 200  # now cached

    domain.domain = "new.cafe-a.test"
    domain.save()

    assert client.get("/", HTTP_HOST="old.cafe-a.test").status_code == 404
    assert client.get("/", HTTP_HOST="new.cafe-a.test").status_code == 200


def test_deleted_domain_is_forgotten_by_the_cache(client, organization):
    domain = Domain.objects.create(domain="gone.cafe-a.test", tenant=organization, is_primary=False)
    assert client.get("/", HTTP_HOST="gone.cafe-a.test").status_code == 200

    domain.delete()

    assert client.get("/", HTTP_HOST="gone.cafe-a.test").status_code == 404


def test_new_domain_is_found_although_its_absence_was_cached(client, organization):
    assert client.get("/", HTTP_HOST="later.cafe-a.test").status_code == 404  # absence cached

    Domain.objects.create(domain="later.cafe-a.test", tenant=organization, is_primary=False)

    assert client.get("/", HTTP_HOST="later.cafe-a.test").status_code == 200


def test_deactivated_organization_stops_answering(client_a, organization):
    assert client_a.get("/").status_code == 200

    organization.is_active = False
    organization.save()

    assert client_a.get("/").status_code == 404


def test_warm_host_lookup_costs_no_query(client_a):
    # A page that reads nothing itself (the root page lists the program's rewards).
    client_a.get("/me/login")  # warms the cache
    with CaptureQueriesContext(connection) as queries:
        response = client_a.get("/me/login")
    assert response.status_code == 200
    assert [query["sql"] for query in queries.captured_queries] == []
