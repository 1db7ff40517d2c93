"""Log lines: JSON when LOG_FORMAT=json (one object per line, with the request and task ids), and the
dispatcher's ticks out of the INFO output."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from kaizala_console import logs
from tests.fixtures.celery_worker import celery_env, wait_for
from tests.ops.test_metrics import TOKEN, scrape, value

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging
from django.test import Client
from kaizala_console.celery import app

@app.task(name="ops.noisy")
def noisy():
    logging.getLogger("kaizala_console.test").warning("inside the task")

Client().get("/no-such-page/", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="req-from-the-proxy")
noisy.apply(task_id="task-abc")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("kaizala_console.test").exception("a traceback\\nover lines")
"""


@pytest.mark.django_db(transaction=True)
def test_log_format_json_writes_one_object_per_line_with_the_ids():
    done = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", SCRIPT], cwd=ROOT,
                          env={**celery_env(), "LOG_FORMAT": "json"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line parses
    by_message = {line["message"]: line for line in lines}
    assert by_message["Not Found: /no-such-page/"]["request_id"] == "req-from-the-proxy"
    assert by_message["Not Found: /no-such-page/"]["level"] == "WARNING"
    assert by_message["inside the task"]["task_id"] == "task-abc"
    assert "request_id" not in by_message["inside the task"]
    assert "ZeroDivisionError" in by_message["a traceback\nover lines"]["exception"]
    assert {"time", "level", "logger", "message"} <= set(lines[0])


@pytest.mark.django_db
def test_a_request_gets_an_id_and_hands_it_to_its_tasks():
    response = Client().get("/login/")
    made = response["X-Request-ID"]
    assert len(made) == 32
    assert Client().get("/login/", HTTP_X_REQUEST_ID="abc.123")["X-Request-ID"] == "abc.123"
    assert Client().get("/login/", HTTP_X_REQUEST_ID="no spaces\n")["X-Request-ID"] != "no spaces\n"
    # Passed on: the publish hook puts it in the task's headers, and the worker's prerun takes it back.
    token = logs.current_request_id.set("req-7")
    try:
        headers = {}
        logs._pass_request_id_on(headers=headers)
    finally:
        logs.current_request_id.reset(token)
    assert headers == {"request_id": "req-7"}


def test_dispatcher_ticks_log_nothing_at_info(client, settings, celery_beat):
    settings.METRICS_TOKEN = TOKEN
    before = value(scrape(client), "console_dispatch_ticks_total")
    wait_for(lambda: value(scrape(client), "console_dispatch_ticks_total") >= before + 5, timeout=60,
             message="five passes of the dispatcher")
    artifacts = ROOT / "test-artifacts"
    for log in ("celery-worker.log", "celery-beat.log", "dispatcher.log"):
        info = [line for line in (artifacts / log).read_text().splitlines() if " INFO " in line]
        assert info  # the processes do log at INFO ...
        # ... but not the ticks (the dispatcher: only that it started and became active)
        ticks = [line for line in info if "messaging.tasks.dispatch" in line
                 or ("messaging.dispatcher" in line and not line.endswith(" started") and " is active " not in line)]
        assert not ticks, f"{log}: {ticks[:3]}"


def test_a_task_carries_the_request_id_into_a_json_workers_lines(transactional_db, tmp_path):
    import os

    from connectors.tasks import trim_api_calls
    from dev import stop_process
    from kaizala_console.celery import app

    app.conf.task_always_eager = False  # through the broker, to the worker (the autouse fixture restores it)
    queue, name = f"ops-json-{os.getpid()}", f"ops-json-{os.getpid()}"
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kaizala_console", "worker", "-l", "INFO", "-Q", queue,
             "--concurrency", "1", "--without-gossip", "--without-mingle", "-n", f"{name}@%h"],
            cwd=ROOT, env={**celery_env(), "LOG_FORMAT": "json"}, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: any(name in reply_name for reply in app.control.ping(timeout=0.5) for reply_name in reply),
                 timeout=60, message="the JSON worker to answer", detail=lambda: log_path.read_text()[-2000:])
        token = logs.current_request_id.set("req-into-the-task")
        try:
            task_id = trim_api_calls.apply_async(queue=queue).id
        finally:
            logs.current_request_id.reset(token)

        def finished():
            lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
            return [line for line in lines if line.get("task_id") == task_id and "succeeded" in line["message"]]

        [line] = wait_for(finished, timeout=30, message="the task's success line",
                          detail=lambda: log_path.read_text()[-2000:])
        assert line["request_id"] == "req-into-the-task"
    finally:
        stop_process(worker)
