"""The merchant portal's webhook pages: endpoints (add, change, delete through Django's pages,
saved by webhooks.services), the signing secret shown once after creating or rotating, enable
and disable, a test event, the delivery log with every attempt, redelivery, and snippets that
verify the signatures on the receiving side. Every change is a POST calling one service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_platform.core.admin_sites import MerchantModelAdmin, merchant_admin_site, permission_required
from loyalty_platform.core.errors import DomainError
from loyalty_platform.webhooks import services
from loyalty_platform.webhooks.forms import EndpointForm, RedeliverFailedForm, RotateForm
from loyalty_platform.webhooks.models import ALL_EVENTS, WebhookDelivery, WebhookEndpoint

VIEW_ENDPOINT = "webhooks.view_webhookendpoint"
CHANGE_ENDPOINT = "webhooks.change_webhookendpoint"
VIEW_LOG = ("webhooks.view_webhookendpoint", "webhooks.view_webhookdelivery", "webhooks.view_webhookattempt")
# The session holds a new secret from the POST that made it until the page showing it: once.
ONE_TIME_SECRET_KEY = "webhooks_new_secret"  # noqa: S105 (a session key)
LOG_PAGE_SIZE = 50
# What the secret's owner reads of it on later pages.
SECRET_SHOWN_CHARACTERS = 10
SECRET_ENVIRONMENT_VARIABLE = "LOYALTY_WEBHOOK_SECRET"  # noqa: S105 (a name)

REFUSALS = {
    "webhook_endpoint_disabled": gettext_lazy("The endpoint is disabled: enable it first. Nothing was sent."),
    "webhook_delivery_in_progress": gettext_lazy(
        "This delivery is being sent right now. Wait a moment, then look at its log again."
    ),
    "webhook_overlap_invalid": gettext_lazy("Choose one of the overlaps offered."),
}


def _one_time_secret_keep(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> None:
    request.session[ONE_TIME_SECRET_KEY] = {
        "schema": request.tenant.schema_name,
        "endpoint": endpoint.pk,
        "secret": secret,
    }


def _one_time_secret_pop(request: HttpRequest, endpoint: WebhookEndpoint) -> str | None:
    kept = request.session.get(ONE_TIME_SECRET_KEY)
    if not kept or kept.get("endpoint") != endpoint.pk or kept.get("schema") != request.tenant.schema_name:
        return None
    del request.session[ONE_TIME_SECRET_KEY]
    return kept["secret"]


def event_types_display(event_types: list[str]) -> str:
    if ALL_EVENTS in event_types:
        return _("All events")
    return ", ".join(event_types)


@admin.register(WebhookEndpoint, site=merchant_admin_site)
class WebhookEndpointAdmin(MerchantModelAdmin):
    form = EndpointForm
    list_display = ["url", "events_display", "is_enabled", "failing_since", "last_delivery_display"]
    list_display_links = ["url"]
    search_fields = ["url", "description"]
    fieldsets = [
        (None, {"fields": ["url", "description"]}),
        (gettext_lazy("Events"), {"fields": ["all_events", "events"]}),
    ]
    change_form_template = "admin/webhooks/endpoint_change_form.html"

    @admin.display(description=gettext_lazy("Events"))
    def events_display(self, endpoint: WebhookEndpoint) -> str:
        return event_types_display(endpoint.event_types)

    @admin.display(description=gettext_lazy("Last delivery"))
    def last_delivery_display(self, endpoint: WebhookEndpoint) -> str:
        status = getattr(endpoint, "last_delivery_status", None)
        return WebhookDelivery.Status(status).label if status else "—"

    def get_queryset(self, request):
        newest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-pk").values("status")[:1]
        return super().get_queryset(request).annotate(last_delivery_status=Subquery(newest))

    # --- Add and change through the services ---------------------------------------------------

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        fields = {"url": data["url"], "description": data["description"], "event_types": data["event_types"]}
        if change:
            services.endpoint_update(endpoint=obj, staff_user=request.user, **fields)
            return
        endpoint, secret = services.endpoint_create(staff_user=request.user, **fields)
        # The admin goes on with `obj` (its log entry, the redirect): make it the new endpoint.
        obj.pk, obj.created_at, obj.created_by = endpoint.pk, endpoint.created_at, endpoint.created_by
        obj.url, obj.event_types = endpoint.url, endpoint.event_types
        obj._state.adding = False
        _one_time_secret_keep(request, endpoint, secret)

    def save_related(self, request, form, formsets, change) -> None:
        pass  # no relations are edited here; the services saved everything

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if add:  # saving always leads to the secret's page
            context.update(show_save_and_add_another=False, show_save_and_continue=False)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("merchant_admin:webhooks_webhookendpoint_secret", obj.pk)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            # The form checked the same rules; this is a URL whose DNS answer changed meanwhile.
            messages.error(
                request, _("Not saved (%(code)s). Check the URL and try again.") % {"code": error.code}
            )
            return redirect(request.get_full_path())

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if endpoint is not None and self.has_view_or_change_permission(request, endpoint):
            extra.update(self._status_context(request, endpoint))
        return super().change_view(request, object_id, form_url, extra)

    def _status_context(self, request, endpoint: WebhookEndpoint) -> dict:
        now = timezone.now()
        secrets = list(endpoint.secrets.all())
        signing = [secrets[0]] if secrets else []
        signing += [secret for secret in secrets[1:] if secret.expires_at and secret.expires_at > now]
        return {
            "endpoint": endpoint,
            "signing_secrets": [
                {
                    "start": secret.secret[:SECRET_SHOWN_CHARACTERS],
                    "created_at": secret.created_at,
                    "expires_at": secret.expires_at if index else None,
                }
                for index, secret in enumerate(signing)
            ],
            "can_change": self.has_change_permission(request, endpoint),
            "can_view_log": request.user.has_perms(VIEW_LOG),
            "recent": list(endpoint.deliveries.select_related("event").order_by("-pk")[:5])
            if request.user.has_perms(VIEW_LOG)
            else [],
        }

    # --- Pages of their own -------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        prefix = "webhooks_webhookendpoint"
        return [
            path("<int:endpoint_id>/secret/", view(self.secret_view), name=f"{prefix}_secret"),
            path("<int:endpoint_id>/rotate/", view(self.rotate_view), name=f"{prefix}_rotate"),
            path("<int:endpoint_id>/enabled/", view(self.enabled_view), name=f"{prefix}_enabled"),
            path("<int:endpoint_id>/test/", view(self.test_view), name=f"{prefix}_test"),
            path("<int:endpoint_id>/verify/", view(self.verify_view), name=f"{prefix}_verify"),
            path("<int:endpoint_id>/deliveries/", view(self.deliveries_view), name=f"{prefix}_deliveries"),
            path(
                "<int:endpoint_id>/deliveries/redeliver-failed/",
                view(self.redeliver_failed_view),
                name=f"{prefix}_redeliver_failed",
            ),
            path(
                "<int:endpoint_id>/deliveries/<int:delivery_id>/",
                view(self.delivery_view),
                name=f"{prefix}_delivery",
            ),
            path(
                "<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/",
                view(self.redeliver_view),
                name=f"{prefix}_redeliver",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, template: str, status: int = 200, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": WebhookEndpoint._meta, **context}
        return TemplateResponse(request, f"admin/webhooks/{template}", context, status=status)

    def _refused(self, request, endpoint: WebhookEndpoint, error: DomainError) -> TemplateResponse:
        return self._page(
            request,
            "refused.html",
            status=error.status,
            title=_("Not possible now"),
            endpoint=endpoint,
            error_code=error.code,
            error_text=REFUSALS.get(error.code, error.error.description),
        )

    @staticmethod
    def _endpoint(endpoint_id: int) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint, pk=endpoint_id)

    @permission_required(VIEW_ENDPOINT)
    def secret_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        endpoint = self._endpoint(endpoint_id)
        secret = _one_time_secret_pop(request, endpoint)
        response = self._page(
            request,
            "secret.html",
            title=_("Signing secret of %(url)s") % {"url": endpoint.url},
            endpoint=endpoint,
            secret=secret,
            variable=SECRET_ENVIRONMENT_VARIABLE,
        )
        response["Cache-Control"] = "no-store"
        return response

    @permission_required(CHANGE_ENDPOINT)
    def rotate_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        endpoint = self._endpoint(endpoint_id)
        form = RotateForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                secret = services.secret_rotate(
                    endpoint=endpoint,
                    overlap_hours=form.cleaned_data["overlap_hours"],
                    staff_user=request.user,
                )
            except DomainError as error:
                return self._refused(request, endpoint, error)
            _one_time_secret_keep(request, endpoint, secret)
            return redirect("merchant_admin:webhooks_webhookendpoint_secret", endpoint.pk)
        status = 400 if request.method == "POST" else 200
        title = _("Rotate the signing secret of %(url)s") % {"url": endpoint.url}
        return self._page(request, "rotate.html", status=status, title=title, endpoint=endpoint, form=form)

    @permission_required(CHANGE_ENDPOINT)
    def enabled_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self._endpoint(endpoint_id)
        enabled = {"1": True, "0": False}.get(request.POST.get("enabled", ""))
        if enabled is None:
            return HttpResponseBadRequest("enabled is 1 or 0")
        services.endpoint_set_enabled(endpoint=endpoint, enabled=enabled, staff_user=request.user)
        messages.success(
            request,
            _("Enabled: waiting deliveries are sent now.")
            if enabled
            else _("Disabled: nothing new is sent to it until you enable it."),
        )
        return redirect("merchant_admin:webhooks_webhookendpoint_change", endpoint.pk)

    @permission_required(CHANGE_ENDPOINT)
    def test_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self._endpoint(endpoint_id)
        try:
            delivery = services.test_event_send(endpoint=endpoint, staff_user=request.user)
        except DomainError as error:
            return self._refused(request, endpoint, error)
        messages.success(request, _("A test event is on its way; its delivery shows here."))
        return redirect("merchant_admin:webhooks_webhookendpoint_delivery", endpoint.pk, delivery.pk)

    @permission_required(VIEW_ENDPOINT)
    def verify_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        endpoint = self._endpoint(endpoint_id)
        return self._page(
            request,
            "verify.html",
            title=_("Verify the signatures of %(url)s") % {"url": endpoint.url},
            endpoint=endpoint,
            snippets=verification_snippets(),
            variable=SECRET_ENVIRONMENT_VARIABLE,
        )

    def _log_page(self, request, endpoint: WebhookEndpoint, form, status: int = 200) -> TemplateResponse:
        deliveries = endpoint.deliveries.select_related("event").order_by("-pk")
        page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
        return self._page(
            request,
            "deliveries.html",
            status=status,
            title=_("Deliveries to %(url)s") % {"url": endpoint.url},
            endpoint=endpoint,
            page=page,
            form=form,
            can_change=self.has_change_permission(request, endpoint),
        )

    @permission_required(*VIEW_LOG)
    def deliveries_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        endpoint = self._endpoint(endpoint_id)
        return self._log_page(request, endpoint, RedeliverFailedForm())

    @permission_required(CHANGE_ENDPOINT, *VIEW_LOG)
    def redeliver_failed_view(self, request: HttpRequest, endpoint_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint = self._endpoint(endpoint_id)
        form = RedeliverFailedForm(request.POST)
        if not form.is_valid():
            return self._log_page(request, endpoint, form, status=400)
        try:
            count = services.deliveries_redeliver_failed(
                endpoint=endpoint, since=form.cleaned_data["since"], staff_user=request.user
            )
        except DomainError as error:
            return self._refused(request, endpoint, error)
        messages.success(
            request,
            _("%(count)d failed deliveries are sent again.") % {"count": count}
            if count
            else _("No failed delivery since then: nothing to send."),
        )
        return redirect("merchant_admin:webhooks_webhookendpoint_deliveries", endpoint.pk)

    def _delivery(self, endpoint_id: int, delivery_id: int) -> tuple[WebhookEndpoint, WebhookDelivery]:
        endpoint = self._endpoint(endpoint_id)
        delivery = get_object_or_404(
            WebhookDelivery.objects.select_related("event"), pk=delivery_id, endpoint=endpoint
        )
        return endpoint, delivery

    @permission_required(*VIEW_LOG)
    def delivery_view(self, request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
        endpoint, delivery = self._delivery(endpoint_id, delivery_id)
        return self._page(
            request,
            "delivery.html",
            title=_("%(type)s to %(url)s") % {"type": delivery.event.type, "url": endpoint.url},
            endpoint=endpoint,
            delivery=delivery,
            attempts=list(delivery.attempt_log.order_by("-number", "-pk")),
            can_change=self.has_change_permission(request, endpoint),
        )

    @permission_required(CHANGE_ENDPOINT, *VIEW_LOG)
    def redeliver_view(self, request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        endpoint, delivery = self._delivery(endpoint_id, delivery_id)
        try:
            services.delivery_redeliver(delivery=delivery, staff_user=request.user)
        except DomainError as error:
            return self._refused(request, endpoint, error)
        messages.success(
            request, _("Sent again from the start of the retry schedule, with the same webhook-id.")
        )
        return redirect("merchant_admin:webhooks_webhookendpoint_delivery", endpoint.pk, delivery.pk)


def verification_snippets() -> list[dict]:
    """The receiving side's checks, as text (tests run them against signed requests)."""
    context = {"variable": SECRET_ENVIRONMENT_VARIABLE}
    return [
        {
            "language": "python",
            "title": "Python",
            "text": render_to_string("admin/webhooks/snippets/verify.py.txt", context),
        },
        {
            "language": "javascript",
            "title": "JavaScript (Node.js)",
            "text": render_to_string("admin/webhooks/snippets/verify.js.txt", context),
        },
    ]


# Developers land on their endpoints (after the dashboard and the till, for who may see those).
merchant_admin_site.landing_pages.append(
    (VIEW_ENDPOINT, lambda request: redirect("merchant_admin:webhooks_webhookendpoint_changelist"))
)
