from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django_tenants.utils import get_public_schema_name

from loyalty_platform.core.faults import SERVICE_FAULTS, service_unavailable_response
from loyalty_platform.core.local_cache import changed_elsewhere
from tenants.platform import is_valid_hostname, platform_hostnames
from tenants.selectors import organization_for_hostname


def use_organization_schema(organization) -> None:
    """Point the connection at the organization's schema. When it already is (a persistent
    connection serving the same organization again), only the tenant object is swapped, so
    no new `SET search_path` is sent (TENANT_LIMIT_SET_CALLS)."""
    if connection.schema_name == organization.schema_name and connection.search_path_set_schemas:
        connection.tenant = organization
    else:
        connection.set_tenant(organization)


def unknown_host_response() -> HttpResponse:
    return HttpResponse(render_to_string("unknown_host.html"), status=404)


class TenantHostMiddleware:
    """Route a request by its host: the platform host serves the public schema and URLs;
    an organization's host name (cached look-up) serves that organization's schema.

    Sets request.organization (None on the platform host) and request.tenant."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.platform_hostnames = platform_hostnames()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            hostname = request.get_host().rsplit(":", 1)[0].lower().rstrip(".")
        except DisallowedHost:
            return unknown_host_response()
        if hostname.startswith("[") or hostname in self.platform_hostnames:
            if connection.schema_name != get_public_schema_name():
                connection.set_schema_to_public()
            # django-tenants' templates expect a tenant object; the public schema's stands in.
            request.tenant = connection.tenant
            request.organization = None
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        elif not is_valid_hostname(hostname):
            return unknown_host_response()
        else:
            try:
                organization = organization_for_hostname(hostname)
                if organization is None and changed_elsewhere():
                    organization = organization_for_hostname(hostname)
            except SERVICE_FAULTS as error:
                # Before any view, so FaultMiddleware's process_exception would not see it.
                return service_unavailable_response(request, error)
            if organization is None:
                return unknown_host_response()
            organization.domain_url = hostname
            request.tenant = organization
            request.organization = organization
            use_organization_schema(organization)
            request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        return self.get_response(request)
