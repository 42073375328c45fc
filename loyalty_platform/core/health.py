from django.core.cache import caches
from django.db import connection

from loyalty_platform.celery import app as celery_app


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "down", and says why
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def redis_status() -> dict:
    try:
        caches["platform"]._cache.get_client().ping()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def worker_status(timeout: float = 1.0, *, broker_reachable: bool = True) -> dict:
    from loyalty_platform.core.tasks import heartbeat_key

    if not broker_reachable:
        # Asking through a broker that is down would only add the broker's retry delays.
        return {"ok": False, "error": "broker_unreachable"}
    try:
        replies = celery_app.control.ping(timeout=timeout)
        last_beat = caches["platform"].get(heartbeat_key("public"))
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    return {"ok": bool(replies), "workers": len(replies), "last_heartbeat": last_beat}
