"""/healthz for load balancers and Compose: database, Redis, and whether beat's
tick has recently run on a worker."""

import datetime as dt
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tracker.broker import redis_client

HEARTBEAT_KEY = "tracker:heartbeat:tick"


def record_tick() -> None:
    """Called by beat's tick task on a worker: proof that both are alive."""
    redis_client().set(HEARTBEAT_KEY, str(time.time()), ex=24 * 3600)


class Unhealthy(Exception):
    pass


def _check(probe) -> tuple[bool, str]:
    try:
        return True, probe() or "ok"
    except Unhealthy as error:
        return False, str(error)
    except Exception as error:  # any failure is an answer here
        return False, f"{type(error).__name__}: {error}"[:200]


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _scheduler() -> str:
    raw = redis_client().get(HEARTBEAT_KEY)
    if raw is None:
        raise Unhealthy("no tick recorded yet")
    age = time.time() - float(raw)
    # Three missed ticks in a row means beat or every worker is down.
    if age > 3 * settings.CELERY_BEAT_SCHEDULE["poll-due-feeds"]["schedule"]:
        raise Unhealthy(f"last tick {dt.timedelta(seconds=int(age))} ago")
    return f"last tick {int(age)} s ago"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer; 503 otherwise. The scheduler's state
    is reported, and counts only with ?strict=1 (a web node stays in service while
    workers restart)."""
    db_ok, db = _check(_database)
    redis_ok, redis_state = _check(lambda: "ok" if redis_client().ping() else "no PONG")
    beat_ok, beat = _check(_scheduler)
    healthy = db_ok and redis_ok and (beat_ok or "strict" not in request.GET)
    return JsonResponse(
        {
            "status": "ok" if healthy else "failing",
            "database": db,
            "redis": redis_state,
            "scheduler": beat,
        },
        status=200 if healthy else 503,
    )
