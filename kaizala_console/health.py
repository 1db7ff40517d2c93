"""Health of the console's processes: liveness, readiness, and the worker and beat heartbeats.

The beat records a tick while it publishes (kaizala_console/celery.py) and pings the workers every 15 s,
recording that one answered; both go to a database row (the truth) and to a Redis copy that pages read
without a query. Readiness checks each dependency itself and says which one failed, never how it is configured.

The dispatcher (messaging/dispatcher.py) holds a lease in Redis while it runs, and its active holder copies a
heartbeat there for the pages. Without one nothing scheduled is sent, but the web serves: a banner and an
`optional` check in /readyz that does not make it answer 503.
"""

import contextlib
import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from kaizala_console.celery import app as celery_app
from kaizala_console.models import Heartbeat
from kaizala_console.redis_client import redis_client

logger = logging.getLogger(__name__)

BEAT = "beat"
WORKER = "worker"
DISPATCHER = "dispatcher"


def redis_key(name: str) -> str:
    return f"console:heartbeat:{name}"


def heartbeat_record(*, name: str, now: datetime | None = None) -> None:
    """Record that `name` is alive now: the row, then its Redis copy (a Redis failure leaves the row)."""
    now = now or timezone.now()
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now})
    try:
        redis_client().set(redis_key(name), now.timestamp())
    except Exception:  # the copy is rebuilt at the next heartbeat
        logger.warning("could not copy the %s heartbeat to Redis", name)


def _stale_after(name: str) -> float:
    if name == DISPATCHER:  # the holder copies it at least every third of a lease; a standby takes over in one
        return settings.DISPATCHER_LEASE_SECONDS + 5
    return settings.HEALTH_BEAT_STALE_SECONDS if name == BEAT else settings.HEALTH_WORKER_STALE_SECONDS


# --- what pages show ---------------------------------------------------------------------------------

PROBLEMS = {
    WORKER: "No Celery worker has answered for over a minute: nothing is sent or refreshed until one runs.",
    BEAT: "The Celery beat has not ticked recently: scheduled messages are not dispatched until it runs "
          "(exactly one beat must run).",
    DISPATCHER: "No dispatcher holds the lease: nothing scheduled or retried is sent until one runs "
                "(manage.py dispatcher).",
    "unknown": "The state of the Celery worker and beat cannot be read (is Redis running?).",
}


def problems() -> list[str]:
    """Sentences for the banner and the dashboard, from the Redis copies: one round trip, no query.

    A heartbeat missing from Redis (a fresh start, a flushed Redis) counts as not seen: the next heartbeat
    writes it again within seconds. The worker is judged only while the beat ticks, as the beat is what
    pings the workers; the dispatcher is judged on its own."""
    try:
        beat, worker, dispatcher = redis_client().mget([redis_key(BEAT), redis_key(WORKER), redis_key(DISPATCHER)])
    except Exception:  # a page must render without Redis
        return [PROBLEMS["unknown"]]
    now = time.time()
    found = []
    if beat is None or now - float(beat) > _stale_after(BEAT):
        found.append(PROBLEMS[BEAT])
    elif worker is None or now - float(worker) > _stale_after(WORKER):
        found.append(PROBLEMS[WORKER])
    if dispatcher is None or now - float(dispatcher) > _stale_after(DISPATCHER):
        found.append(PROBLEMS[DISPATCHER])
    return found


# --- readiness ----------------------------------------------------------------------------------------


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return ""


def _redis() -> str:
    redis_client().ping()
    return ""


def _workers() -> str:
    # limit=1: the first answer is enough, without waiting out the timeout.
    replies = celery_app.control.ping(timeout=settings.HEALTH_WORKER_PING_TIMEOUT, limit=1)
    if not replies:
        return f"no Celery worker answered a ping within {settings.HEALTH_WORKER_PING_TIMEOUT:g} s"
    with contextlib.suppress(DatabaseError):  # the database check says so; the worker did answer
        heartbeat_record(name=WORKER)
    return ""


WATCH_INTERVAL = 15.0


def workers_watch(stop: threading.Event | None = None) -> None:
    """The beat's pinger thread: every WATCH_INTERVAL seconds, a worker that answers is recorded."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            _workers()
        except Exception:  # Redis or the database away: the next round tries again; the pages say so
            logger.warning("could not ping the Celery workers", exc_info=True)
        finally:
            connection.close()  # a thread of its own: never keep a connection between rounds
        stop.wait(WATCH_INTERVAL)


def _beat() -> str:
    last = Heartbeat.objects.filter(name=BEAT).values_list("at", flat=True).first()
    if last is None:
        return "the Celery beat has never ticked"
    age = (timezone.now() - last).total_seconds()
    if age > _stale_after(BEAT):
        return f"the Celery beat last ticked {age:.0f} s ago"
    return ""


def _dispatcher() -> str:
    from messaging.dispatcher import lease_holder  # messaging imports this module's callers

    return "" if lease_holder() else "no dispatcher holds the lease: nothing scheduled is sent"


def readiness() -> tuple[bool, dict]:
    """Check every dependency; (ready, {name: {"ok": bool, "error": sentence}}). The worker ping goes
    through Redis, and the beat's row is in the database: each is skipped when its carrier is down.
    An `optional` check is shown but does not decide readiness: the web serves without a dispatcher."""
    checks = {}

    def run(name, check, needs=None, optional=False):
        flag = {"optional": True} if optional else {}
        if needs and not checks[needs]["ok"]:
            checks[name] = {"ok": False, "error": f"not checked: {needs} is down", **flag}
            return
        try:
            error = check()
        except Exception as exc:  # any failure means not ready; the class says which kind
            logger.warning("readiness: %s failed: %s", name, type(exc).__name__)
            error = f"{name} unreachable ({type(exc).__name__})"
        checks[name] = {"ok": not error, **({"error": error} if error else {}), **flag}

    run("database", _database)
    run("redis", _redis)
    run("worker", _workers, needs="redis")
    run("beat", _beat, needs="database")
    run("dispatcher", _dispatcher, needs="redis", optional=True)
    return all(c["ok"] for c in checks.values() if not c.get("optional")), checks
