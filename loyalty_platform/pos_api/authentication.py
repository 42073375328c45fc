from typing import NoReturn

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.permissions import BasePermission

from loyalty_platform.core import errors, throttle
from loyalty_platform.core.local_cache import changed_elsewhere
from tenants.middleware import use_organization_schema
from tenants.selectors import api_key_authenticate, organization_subscription_is_active
from tenants.services import api_key_touch


def _raw_key(request) -> str:
    header = request.META.get("HTTP_X_API_KEY", "")
    if header:
        return header.strip()
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _refuse(request) -> NoReturn:
    """A wrong key: 401, or 429 once this IP sent too many wrong keys (a valid key from the
    same IP keeps working, so a till next to a misconfigured one is not locked out)."""
    wait = throttle.attempt(throttle.limit("api_key_failure_ip"), throttle.client_ip(request._request))
    if wait is not None:
        raise Throttled(wait=wait)
    raise AuthenticationFailed()


def _refuse_suspended(organization) -> None:
    """A suspended organization (or one awaiting deletion) answers no call at all. The
    cached copy carries the status and a status change forgets it (tenants.signals)."""
    if organization.is_suspended:
        raise errors.ORGANIZATION_SUSPENDED()


def _use_organization(django_request, organization, domain_url: str) -> None:
    organization.domain_url = domain_url
    use_organization_schema(organization)
    django_request.organization = organization
    django_request.tenant = organization


def authentication_recheck(request, view) -> None:
    """The key, its organization and the subscription checked again from fresh look-ups,
    after another process announced a change that may make the cached copies this request
    was let in with stale (pos_api.throttling). The request goes on with the fresh ones."""
    found = api_key_authenticate(request.successful_authenticator.raw_key(request))
    django_request = request._request
    if found is None or found[1].pk != django_request.organization.pk:
        raise AuthenticationFailed()
    api_key, organization = found
    _refuse_suspended(organization)
    _use_organization(django_request, organization, django_request.organization.domain_url)
    request.auth = api_key
    ActiveSubscriptionForWrites().has_permission(request, view)


class ApiKeyAuthentication(BaseAuthentication):
    """`X-Api-Key: <key>` or `Authorization: Bearer <key>`. On an organization's host the
    key must belong to that organization; on the platform host the key picks the
    organization and its schema."""

    @staticmethod
    def raw_key(request) -> str:
        """The key as tenants.selectors parses it (`sk_live_<lookup_id>_<secret>`)."""
        return _raw_key(request)

    def authenticate(self, request):
        raw_key = self.raw_key(request)
        if not raw_key:
            raise NotAuthenticated()
        found = api_key_authenticate(raw_key)
        if found is None and changed_elsewhere():
            found = api_key_authenticate(raw_key)
        if found is None:
            _refuse(request)
        api_key, organization = found
        django_request = request._request
        host_organization = getattr(django_request, "organization", None)
        if host_organization is None:
            _use_organization(django_request, organization, django_request.get_host())
        elif host_organization.pk != organization.pk:
            _refuse(request)
        _refuse_suspended(organization)
        api_key_touch(api_key_id=api_key.id, lookup_id=api_key.lookup_id)
        return (None, api_key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class HasApiKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.auth is not None


class ActiveSubscriptionForWrites(BasePermission):
    """An organization whose subscription lapsed may still read, but not change anything."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        organization = request._request.organization
        if organization_subscription_is_active(organization=organization):
            return True
        # Renewed in another process moments ago? Asked only before refusing.
        if changed_elsewhere() and organization_subscription_is_active(organization=organization):
            return True
        raise errors.SUBSCRIPTION_REQUIRED()
