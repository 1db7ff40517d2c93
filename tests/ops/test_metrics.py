"""/metrics: who may scrape it, and the console's own metrics moving after a real send."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from audit.actor import SYSTEM
from kaizala_console import metrics
from messaging import services
from messaging.models import Message
from tests.fixtures.celery_worker import wait_for

TOKEN = "metrics-token-for-tests"


def scrape(client) -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def sends_called(samples, status: str) -> float:
    """Calls to Kaizala's send route (its endpoint URL's prefix varies by tenant) that answered `status`."""
    return sum(v for (name, labels), v in samples.items() if name == "console_kaizala_calls_total"
               and dict(labels)["endpoint"].startswith("POST ")
               and dict(labels)["endpoint"].endswith("/v1/groups/{id}/messages")
               and dict(labels)["status"] == status)


@pytest.mark.django_db
def test_metrics_need_the_token_or_an_allowed_address(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    assert client.get("/metrics").status_code == 403  # neither set: off
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["127.0.0.1"]
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_every_request_is_counted_by_view_and_status(client, settings):
    settings.METRICS_TOKEN = TOKEN
    before = value(scrape(client), "console_http_requests_total", view="login", method="GET", status="200")
    client.get(reverse("login"))
    after = scrape(client)
    assert value(after, "console_http_requests_total", view="login", method="GET", status="200") == before + 1
    assert value(after, "console_http_request_duration_seconds_count", view="login") >= 1


def test_a_send_through_a_real_worker_moves_the_metrics(client, settings, group, sandbox, celery_worker):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="counted", send_at=None)
    services.dispatch()
    wait_for(lambda: Message.objects.get(pk=message.pk).status == Message.Status.SENT, timeout=30,
             message="the message to be sent by the worker")
    after = scrape(client)  # the worker's process wrote these; the web process sums them
    assert value(after, "console_sends_total", status="sent") == value(before, "console_sends_total",
                                                                       status="sent") + 1
    assert value(after, "console_send_latency_seconds_count") == value(before, "console_send_latency_seconds_count") + 1
    assert sends_called(after, "200") == sends_called(before, "200") + 1
    assert value(after, "console_messages", status="sent") == 1  # read from the database at the scrape
    assert ("console_queue_depth", (("queue", "celery"),)) in after


def test_429s_and_token_refreshes_are_counted(client, settings, group, sandbox, phone_user,
                                             django_capture_on_commit_callbacks):
    from connectors.services import phone_user_refresh_access_token

    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    sandbox.inject_fault(method="POST", path="*/messages", status=429, retryAfter=1, count=1)
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="throttled", send_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch()  # eager: the send runs here, and Kaizala answers 429
    assert Message.objects.get(pk=message.pk).status == Message.Status.RETRYING
    phone_user_refresh_access_token(phone_user_id=phone_user.pk, failed_token=phone_user.access_token)
    after = scrape(client)
    assert value(after, "console_kaizala_rate_limited_total") == value(before, "console_kaizala_rate_limited_total") + 1
    assert value(after, "console_sends_total", status="retrying") == value(
        before, "console_sends_total", status="retrying") + 1
    assert value(after, "console_token_refreshes_total", outcome="ok") == value(
        before, "console_token_refreshes_total", outcome="ok") + 1


def test_the_endpoint_label_keeps_the_route_and_drops_ids():
    assert metrics.endpoint_label("POST", "http://127.0.0.1:8700/kms/tenant-1/v1/groups/4c0f-9a/messages?x=1") == (
        "POST /kms/{id}/v1/groups/{id}/messages")
    assert metrics.endpoint_label("GET", "https://api.kaiza.la/v1/accessToken") == "GET /v1/accessToken"


@pytest.mark.django_db
def test_limiter_waits_are_counted(client, settings):
    import uuid

    import kaizala
    from connectors.kaizala_access import _MeteredLimiter
    from kaizala_console.redis_client import redis_client

    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    # 20 calls a second, one at a time: the third call in a row waits for its token.
    limiter = _MeteredLimiter(redis_client(), limits={"connector": kaizala.Limit(20, 1.0, burst=1, margin=0)},
                              max_wait=5)
    keys = {"connector": f"ops-test-{uuid.uuid4().hex}"}
    for _ in range(3):
        limiter.acquire(keys)
    after = scrape(client)
    assert value(after, "console_limiter_waits_total") >= value(before, "console_limiter_waits_total") + 1
    assert value(after, "console_limiter_wait_seconds_total") > value(before, "console_limiter_wait_seconds_total")


@pytest.mark.django_db
def test_the_webhook_hooks_count_events_and_their_lag(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    now = timezone.now()
    metrics.webhook_event_received()
    metrics.webhook_event_processed(received_at=now - timedelta(seconds=3), processed_at=now)
    after = scrape(client)
    for name in ("console_webhook_events_received_total", "console_webhook_events_processed_total",
                 "console_webhook_event_lag_seconds_count"):
        assert value(after, name) == value(before, name) + 1, name
    assert value(after, "console_webhook_event_lag_seconds_bucket", le="2.0") == value(
        before, "console_webhook_event_lag_seconds_bucket", le="2.0")  # 3 s is not under 2 s
    assert value(after, "console_webhook_event_lag_seconds_bucket", le="5.0") == value(
        before, "console_webhook_event_lag_seconds_bucket", le="5.0") + 1



# Run in a fresh interpreter: forking the test process itself could copy a lock another thread holds.
_REMOVED_UNDER_A_RUNNING_PROCESS = """
import json, os, shutil
from datetime import timedelta

import django

django.setup()
from django.conf import settings
from django.utils import timezone

from kaizala_console import metrics

metrics.dispatch_ticked()  # this process has its metrics files
shutil.rmtree(settings.PROMETHEUS_MULTIPROC_DIR)
child = os.fork()  # as a worker pool forks a new child after the directory was removed
if child:
    os.waitpid(child, 0)
else:
    now = timezone.now()
    try:
        metrics.send_finished(status="sent", due_at=now - timedelta(seconds=1), sent_at=now)
        metrics.kaizala_call(method="POST", url="http://k/v1/groups/g1/messages", status=200)
        metrics.limiter_waited(0.5)
        metrics.token_refreshed("ok")
        metrics.dispatch_ticked()
        metrics.http_answered(view="login", method="GET", status=200, seconds=0.01)
        metrics.webhook_event_received()
        metrics.webhook_event_processed(received_at=now, processed_at=now)
        hooks = "quiet"
    except Exception as error:
        hooks = repr(error)
    try:
        metrics.sends.labels("failed").inc()
        raw = "wrote"
    except Exception as error:
        raw = type(error).__name__
    print(json.dumps({"hooks": hooks, "raw": raw, "warned": len(metrics._warned)}), flush=True)
    os._exit(0)
"""


def test_a_metrics_directory_removed_under_running_processes_fails_no_work(tmp_path):
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    done = subprocess.run([sys.executable, "-c", _REMOVED_UNDER_A_RUNNING_PROCESS], env=env, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["raw"] != "wrote", seen  # the fault is real: a bare write fails in the new process
    assert seen["hooks"] == "quiet", seen
    assert seen["warned"] >= 1  # and it was logged (once per process and hook)
