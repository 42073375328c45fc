"""Response headers that protect the browser surfaces: Content-Security-Policy (django-csp),
HSTS and the redirect to HTTPS. See docs/decisions/0013-content-security-policy.md."""

from csp.constants import NONCE, NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE

from loyalty_platform.env import env

from .base import PAGE_MIDDLEWARE_CHECKS, PRODUCTION

# Every page, ours and the libraries' (Django admin, Swagger UI), runs scripts only from our
# own static files. Our two brand-colour <style> blocks carry the per-request nonce; the
# websocket of the page's own host is added per request by loyalty_platform.core.csp.
_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        # Swagger UI's and Django admin's stylesheets draw icons from data: URIs.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        # The profile's service worker and web app manifest (docs/decisions/0057-installable-profile.md).
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": env.str("CSP_REPORT_URI")} if env.str("CSP_REPORT_URI", default="") else {}),
    }
}
# The admin portals' theme (django-unfold) evaluates its Alpine.js attributes and writes inline
# styles; scripts still come only from our own static files. No nonce in style-src here: a
# nonce would make browsers ignore 'unsafe-inline'. See docs/decisions/0027-portal-theme.md.
ADMIN_URL_PREFIX = "/admin/"
ADMIN_CONTENT_SECURITY_POLICY_REPLACE = {
    "script-src": [SELF, UNSAFE_EVAL],
    "style-src": [SELF, UNSAFE_INLINE],
}
# A self-hoster who changes templates can watch what the policy would block before enforcing it.
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _POLICY
else:
    CONTENT_SECURITY_POLICY = _POLICY

# Production answers HTTPS only. Load balancers probe /healthz and /ping over plain HTTP, and
# a TLS-terminating proxy that already redirects may switch Django's redirect off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[r"^healthz$", r"^ping$"])
# Organizations live on subdomains of the platform host, so HSTS covers them too.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a commitment for the whole registrable domain, which a self-hoster on
# loyalty.example.com cannot make for example.com: off unless asked for, and then checked.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = PAGE_MIDDLEWARE_CHECKS + ([] if SECURE_HSTS_PRELOAD else ["security.W021"])
