from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from loyalty_platform.core.health import database_status, redis_status, worker_status
from tenants.platform import platform_base_url


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and Redis must answer for the process to serve; the worker is reported."""
    checks = {"database": database_status(), "redis": redis_status(), "worker": worker_status()}
    serving = checks["database"]["ok"] and checks["redis"]["ok"]
    status = "ok" if serving and checks["worker"]["ok"] else ("degraded" if serving else "down")
    return JsonResponse({"status": status, **checks}, status=200 if serving else 503)


@require_GET
def platform_home(request: HttpRequest):
    return render(request, "platform_home.html", {"base_url": platform_base_url()})


@require_GET
def organization_home(request: HttpRequest):
    return render(request, "organization_home.html", {"organization": request.organization})


def not_found(request: HttpRequest, exception=None):
    """JSON for API paths (clients parse it), a plain page elsewhere."""
    if request.path.startswith(("/webhook/", "/api/")):
        return JsonResponse({"error": "not_found"}, status=404)
    return render(request, "not_found.html", status=404)


def ping(request: HttpRequest) -> JsonResponse:
    """A JSON answer that touches nothing: for load balancers, and the benchmarks' baseline."""
    return JsonResponse({"data": "pong"})
