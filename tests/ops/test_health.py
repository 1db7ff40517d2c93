"""/healthz and /readyz: liveness needs nothing; readiness names the dependency that is down."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.utils import timezone

from dev import free_port, redis_command, redis_server_binary, stop_process, wait_for_port
from kaizala_console import health
from kaizala_console.models import Heartbeat
from tests.fixtures.celery_worker import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spare_redis(tmp_path):
    """A Redis of this test's own, that no worker consumes from; the test may stop it."""
    binary, _ = redis_server_binary(embedded=False)
    port = free_port()
    proc = subprocess.Popen(redis_command(binary, port, tmp_path), stdout=subprocess.DEVNULL)
    wait_for_port(port)
    yield proc, f"redis://127.0.0.1:{port}/0"
    if proc.poll() is None:
        stop_process(proc)


def failing(response) -> dict:
    """The failed checks that decide readiness (the dispatcher's is optional: see its own test)."""
    body = response.json()
    return {name: check["error"] for name, check in body["checks"].items()
            if not check["ok"] and not check.get("optional")}


def test_with_the_database_down_readyz_names_it_and_healthz_stays_up(tmp_path):
    # A process whose DATABASE_URL points where no database listens: the probes as a load balancer sees them.
    script = (
        "import json\nfrom django.test import Client\nc = Client()\n"
        "out = {p: c.get(p, HTTP_HOST='localhost') for p in ('/healthz', '/readyz')}\n"
        "print(json.dumps({p: [r.status_code, r.json()] for p, r in out.items()}))\n"
    )
    env = {**os.environ, "DATABASE_URL": f"postgres://nobody:secret-pw@127.0.0.1:{free_port()}/nowhere",
           "VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers["/healthz"] == [200, {"status": "ok"}]
    status, body = answers["/readyz"]
    assert status == 503
    assert not body["checks"]["database"]["ok"]
    assert body["checks"]["beat"]["error"] == "not checked: database is down"
    assert "secret-pw" not in done.stdout and "nowhere" not in done.stdout


@pytest.mark.django_db
def test_with_redis_stopped_readyz_names_it(client, settings, spare_redis):
    proc, url = spare_redis
    settings.REDIS_URL = url
    health.heartbeat_record(name=health.BEAT)
    stop_process(proc)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(failing(response)) == {"redis", "worker"}
    assert failing(response)["worker"] == "not checked: redis is down"
    assert response.json()["checks"]["dispatcher"] == {"ok": False, "error": "not checked: redis is down",
                                                       "optional": True}
    assert str(proc.args[2]) not in response.content.decode()  # the port: no address in the answer
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_with_no_worker_on_the_broker_readyz_names_the_worker(client, settings, spare_redis, monkeypatch, caplog):
    _, url = spare_redis
    # The ping goes out on a broker no worker consumes from (a worker of another test may be up on the
    # shared one); the app is the console's, configured for that broker.
    monkeypatch.setattr(health, "celery_app", Celery("kaizala_console", broker=url, set_as_current=False))
    settings.HEALTH_WORKER_PING_TIMEOUT = 0.5
    health.heartbeat_record(name=health.BEAT)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert failing(response) == {"worker": "no Celery worker answered a ping within 0.5 s"}
    # A prober collects one warning per 503, not Django's ERROR line.
    assert [(r.levelname, r.getMessage()) for r in caplog.records if "ready" in r.getMessage()] == [
        ("WARNING", "not ready: worker")]


def test_with_the_beat_stopped_readyz_names_the_beat(client, celery_worker):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert failing(response) == {"beat": "the Celery beat has never ticked"}
    # A worker answered: its heartbeat is recorded for the pages.
    assert Heartbeat.objects.filter(name=health.WORKER).exists()
    Heartbeat.objects.create(name=health.BEAT, at=timezone.now() - timedelta(seconds=300))
    assert set(failing(client.get("/readyz"))) == {"beat"}
    assert re.fullmatch(r"the Celery beat last ticked 30\d s ago", failing(client.get("/readyz"))["beat"])


def test_without_a_dispatcher_readyz_stays_ready_and_names_it_as_optional(client, celery_worker, caplog):
    from kaizala_console.redis_client import redis_client
    from messaging.dispatcher import LEASE_KEY

    health.heartbeat_record(name=health.BEAT)
    redis_client().delete(LEASE_KEY)
    response = client.get("/readyz")
    assert response.status_code == 200, response.content  # the web serves; nothing scheduled goes out
    assert response.json()["checks"]["dispatcher"] == {
        "ok": False, "error": "no dispatcher holds the lease: nothing scheduled is sent", "optional": True}
    assert not [r for r in caplog.records if "ready" in r.getMessage()]
    redis_client().set(LEASE_KEY, "somewhere:1234abcd", px=60_000)
    try:
        assert client.get("/readyz").json()["checks"]["dispatcher"] == {"ok": True, "optional": True}
    finally:
        redis_client().delete(LEASE_KEY)


def test_the_beats_pinger_records_a_worker_that_answers(celery_worker):
    import threading

    stop = threading.Event()
    watcher = threading.Thread(target=health.workers_watch, args=(stop,), daemon=True)
    watcher.start()
    try:
        wait_for(lambda: Heartbeat.objects.filter(name=health.WORKER).exists(), timeout=30,
                 message="the pinger to record the worker")
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()


def test_a_running_beat_records_its_ticks_and_readyz_is_ok(client, celery_beat):
    wait_for(lambda: client.get("/readyz").status_code == 200, timeout=60, message="/readyz to answer 200",
             detail=lambda: client.get("/readyz").content)
    assert client.get("/readyz").json()["checks"] == {
        **{name: {"ok": True} for name in ("database", "redis", "worker", "beat")},
        "dispatcher": {"ok": True, "optional": True}}  # celery_beat runs a dispatcher too
