"""The console's Prometheus metrics, in prometheus-client's multiprocess mode: every gunicorn and Celery
process writes its counters to PROMETHEUS_MULTIPROC_DIR (set by the settings before this is imported) and
the /metrics view sums them. Gauges that describe the database or the queue are read at scrape time.

The hooks below are what the rest of the console calls; each is one line at its call site. A hook never
raises: metrics describe the work and must not fail it (a process forked after PROMETHEUS_MULTIPROC_DIR
was removed cannot open its files, and a send that failed there before its call was left `sending`).
"""

import functools
import logging
import os
import re
from datetime import datetime

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)

http_requests = Counter("console_http_requests_total", "Requests answered, by view and status.",
                        ["view", "method", "status"])
http_duration = Histogram("console_http_request_duration_seconds", "Time to answer a request, by view.",
                          ["view"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
dispatch_ticks = Counter("console_dispatch_ticks_total", "Dispatcher ticks run (twice a second while the beat runs).")
sends = Counter("console_sends_total", "Send attempts finished, by the status they left the message in.",
                ["status"])
send_latency = Histogram("console_send_latency_seconds", "From a message's due time to its sending.",
                         buckets=_LATENCY_BUCKETS)
kaizala_calls = Counter("console_kaizala_calls_total", "Calls to Kaizala, by endpoint and HTTP status.",
                        ["endpoint", "status"])
kaizala_rate_limited = Counter("console_kaizala_rate_limited_total", "Calls Kaizala answered with 429.")
limiter_waits = Counter("console_limiter_waits_total", "Times the shared rate limiter made a call wait.")
limiter_wait_seconds = Counter("console_limiter_wait_seconds_total", "Seconds calls waited for the limiter.")
token_refreshes = Counter("console_token_refreshes_total", "Access-token refreshes, by outcome.", ["outcome"])
webhook_received = Counter("console_webhook_events_received_total", "Kaizala webhook events stored.")
webhook_processed = Counter("console_webhook_events_processed_total", "Kaizala webhook events processed.")
webhook_lag = Histogram("console_webhook_event_lag_seconds", "From an event's receipt to its processing.",
                        buckets=_LATENCY_BUCKETS)


log = logging.getLogger(__name__)

# --- hooks ------------------------------------------------------------------------------------------

_warned: set[tuple[int, str]] = set()


def _never_fails(hook):
    """Run the hook; on an error log it once per process and hook, and go on without the figure."""

    @functools.wraps(hook)
    def run(*args, **kwargs) -> None:
        try:
            hook(*args, **kwargs)
        except Exception:
            key = (os.getpid(), hook.__name__)
            if key not in _warned:
                _warned.add(key)
                log.warning("metrics: %s could not be recorded (is %s still there?); the work goes on without it",
                            hook.__name__, settings.PROMETHEUS_MULTIPROC_DIR, exc_info=True)

    return run


@_never_fails
def http_answered(*, view: str, method: str, status: int, seconds: float) -> None:
    http_requests.labels(view, method, str(status)).inc()
    http_duration.labels(view).observe(seconds)


@_never_fails
def dispatch_ticked() -> None:
    dispatch_ticks.inc()


@_never_fails
def send_finished(*, status: str, due_at: datetime | None, sent_at: datetime | None) -> None:
    sends.labels(status).inc()
    if sent_at is not None and due_at is not None:
        send_latency.observe(max(0.0, (sent_at - due_at).total_seconds()))


# A path segment of letters only (or an API version, v1) is part of the route; anything else (an id) is
# replaced, so the endpoint label takes a bounded set of values.
_ROUTE_SEGMENT = re.compile(r"v\d{1,3}|[A-Za-z]{1,40}")


def endpoint_label(method: str, url: str) -> str:
    path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?")[0]
    route = "/".join(s if not s or _ROUTE_SEGMENT.fullmatch(s) else "{id}" for s in path.split("/"))
    return f"{method} {route or '/'}"


@_never_fails
def kaizala_call(*, method: str, url: str, status: int | None) -> None:
    kaizala_calls.labels(endpoint_label(method, url), str(status) if status else "none").inc()
    if status == 429:
        kaizala_rate_limited.inc()


@_never_fails
def limiter_waited(seconds: float) -> None:
    limiter_waits.inc()
    limiter_wait_seconds.inc(seconds)


@_never_fails
def token_refreshed(outcome: str) -> None:
    token_refreshes.labels(outcome).inc()


@_never_fails
def webhook_event_received() -> None:
    """For the inbound events: call when an event is stored."""
    webhook_received.inc()


@_never_fails
def webhook_event_processed(*, received_at: datetime, processed_at: datetime) -> None:
    """For the inbound events: call when an event has been turned into posts, members or responses."""
    webhook_processed.inc()
    webhook_lag.observe(max(0.0, (processed_at - received_at).total_seconds()))


# --- the scrape -------------------------------------------------------------------------------------


class _AtScrape:
    """Gauges read when Prometheus scrapes: messages by status (the database) and the queue's depth."""

    def collect(self):
        from kaizala_console.celery import app as celery_app
        from kaizala_console.redis_client import redis_client
        from messaging.selectors import message_status_counts

        messages = GaugeMetricFamily("console_messages", "Messages by status.", labels=["status"])
        for status, n in message_status_counts():
            messages.add_metric([status], n)
        yield messages
        depth = GaugeMetricFamily("console_queue_depth", "Tasks waiting in the Celery queue.", labels=["queue"])
        queue = celery_app.conf.task_default_queue
        depth.add_metric([queue], redis_client().llen(queue))
        yield depth


def scrape() -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    registry.register(_AtScrape())
    return generate_latest(registry)
