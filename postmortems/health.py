"""Liveness and readiness for load balancers and orchestrators.

/healthz says the process answers and reaches its database: cheap, for restarts.
/readyz says the app can do its whole job: database, Celery broker, and a worker that ran its
heartbeat task recently (beat queues it every minute, a worker writes the time). Each check is
reported as JSON; any failing one makes it 503, so traffic or alerts can follow it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .models import Heartbeat

# One dependency's report: "ok" and what explains it (error, url, age of the heartbeat).
Check = dict[str, Any]


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and docker-compose: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure of the driver is "not ready", with its reason
        return {"ok": False, "error": str(error)[:200]}
    return {"ok": True}


def check_broker() -> Check:
    from postmortems.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1,
                timeout=settings.READY_BROKER_TIMEOUT,  # type: ignore[arg-type]  # kombu takes float seconds
            )
    except Exception as error:  # kombu raises its own and the transports' errors
        return {"ok": False, "url": _safe(app.conf.broker_url), "error": str(error)[:200]}
    return {"ok": True, "url": _safe(app.conf.broker_url)}


def check_workers() -> Check:
    beat = Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()
    if beat is None:
        return {"ok": False, "error": "no worker has reported yet"}
    age = timezone.now() - beat
    fresh = age <= settings.READY_HEARTBEAT_MAX_AGE
    report: Check = {
        "ok": fresh,
        "last_heartbeat": beat.isoformat(),
        "age_seconds": int(age.total_seconds()),
    }
    if not fresh:
        report["error"] = f"no heartbeat for {int(age.total_seconds())} s"
    return report


def _safe(url: object) -> str:
    """A broker URL without its password."""
    scheme, sep, rest = str(url).partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


@login_not_required
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database()}
    checks["broker"] = check_broker()
    checks["workers"] = check_workers() if checks["database"]["ok"] else {"ok": False}
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
