from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from loyalty_platform.core.clients import is_machine_path
from loyalty_platform.core.faults import RETRY_AFTER_SECONDS
from loyalty_platform.core.health import database_status, jobs_status, redis_status, worker_status
from loyalty_platform.programs.models import Program
from loyalty_platform.programs.selectors import active_programs
from loyalty_platform.rewards.models import Reward
from tenants.platform import platform_base_url


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The database must answer for the process to serve (503 otherwise). Without Redis or a
    worker it still serves, degraded: rate limits and caches fail open, realtime falls back
    to polling, queued jobs wait (core.faults). Scheduled jobs that have not succeeded for too
    long make it degraded too (core.jobs, docs/decisions/0044)."""
    database = database_status()
    redis = redis_status()
    checks = {
        "database": database,
        "redis": redis,
        "worker": worker_status(broker_reachable=redis["ok"]),
        "jobs": _own_jobs(jobs_status(database_reachable=database["ok"])),
    }
    serving = checks["database"]["ok"]
    healthy = all(check["ok"] for check in checks.values())
    status = "ok" if healthy else ("degraded" if serving else "down")
    response = JsonResponse({"status": status, **checks}, status=200 if serving else 503)
    if not serving:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _own_jobs(jobs: dict) -> dict:
    """On an organization's host the stale jobs of other organizations are counted, not named:
    the answer is public."""
    if connection.schema_name == "public" or "stale" not in jobs:
        return jobs
    own = connection.tenant.slug
    return {**jobs, "stale": [job for job in jobs["stale"] if job["organization"] in (None, own)]}


@require_safe
def platform_home(request: HttpRequest):
    return render(request, "platform_home.html", {"base_url": platform_base_url()})


HOME_REWARDS = 6


@require_safe
def organization_home(request: HttpRequest):
    """The program's public page: what members get, join, sign in (staff link small)."""
    programs = active_programs()
    rewards = list(Reward.objects.filter(is_active=True)[: HOME_REWARDS + 1])
    context = {
        "organization": request.organization,
        "point_program": programs.get(Program.Kind.POINT),
        "stamp_program": programs.get(Program.Kind.STAMP),
        "rewards": rewards[:HOME_REWARDS],
        "more_rewards": Reward.objects.filter(is_active=True).count() - HOME_REWARDS
        if len(rewards) > HOME_REWARDS
        else 0,
    }
    return render(request, "organization_home.html", context)


def not_found(request: HttpRequest, exception=None):
    """JSON for API paths (clients parse it), a plain page elsewhere."""
    if is_machine_path(request):
        return JsonResponse({"error": "not_found"}, status=404)
    return render(request, "not_found.html", status=404)


def bad_request(request: HttpRequest, exception=None):
    """Django's answer to a SuspiciousOperation, as JSON on API paths."""
    if is_machine_path(request):
        return JsonResponse({"error": "bad_request"}, status=400)
    return render(request, "bad_request.html", status=400)


def server_error(request: HttpRequest):
    """An unexpected failure (a bug: service faults answer 503 in core.faults). Django has
    logged the traceback; the client gets no detail, and a program still gets JSON."""
    if is_machine_path(request):
        return JsonResponse({"error": "server_error"}, status=500)
    return render(request, "server_error.html", status=500)


def ping(request: HttpRequest) -> JsonResponse:
    """A JSON answer that touches nothing: for load balancers, and the benchmarks' baseline."""
    return JsonResponse({"data": "pong"})


QR_MAX_DATA_BYTES = 1024


@require_safe
def qr_image(request: HttpRequest, image_format: str):
    """The QR of any text, as PNG or SVG; bounded and cacheable."""
    from django.http import HttpResponse

    from loyalty_platform.core.qr import qr_png, qr_svg

    if image_format not in ("png", "svg"):
        return JsonResponse({"error": "not_found"}, status=404)
    data = request.GET.get("data", "")
    if not data:
        return JsonResponse({"error": "data_required"}, status=400)
    if len(data.encode()) > QR_MAX_DATA_BYTES:
        return JsonResponse({"error": "data_too_long", "max_bytes": QR_MAX_DATA_BYTES}, status=400)
    size_text = request.GET.get("size", "256")
    if not size_text.isdigit() or not 64 <= int(size_text) <= 1024:
        return JsonResponse({"error": "size_invalid", "min": 64, "max": 1024}, status=400)
    size = int(size_text)
    if image_format == "png":
        response = HttpResponse(qr_png(data, pixels=size), content_type="image/png")
    else:
        response = HttpResponse(qr_svg(data, pixels=size), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400, immutable"
    return response
