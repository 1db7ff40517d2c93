"""`python3 dev.py start` as the README runs it, in a VAR_DIR of its own: everything it keeps lands there,
owner-only; its gunicorn sends no body with a HEAD answer (a keep-alive client would read that body as
the next status line) and answers an unreadable form with 400."""

import os
import re
import socket
import stat
import subprocess
import sys

import pytest
import redis
import requests

from dev import free_port
from kaizala_console.local_secrets import private_directory, private_file
from tests.fixtures.celery_worker import ROOT, wait_for


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    var = tmp_path_factory.mktemp("dev-start") / "state"
    var.mkdir(mode=0o755)
    # Left by an older version or by hand, world-readable: start must tighten them.
    (var / "old-notes.txt").write_text("x")
    (var / "old-notes.txt").chmod(0o644)
    (var / "older").mkdir(mode=0o755)
    (var / "older" / "db-copy.sqlite3").write_text("x")
    (var / "older" / "db-copy.sqlite3").chmod(0o644)
    web_port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "KAIZALA_AUTH_URL", "KAIZALA_SANDBOX_URL",
                        "PROMETHEUS_MULTIPROC_DIR")}  # its own, under its VAR_DIR: start empties it
    env.update(VAR_DIR=str(var), WEB_PORT=str(web_port), SANDBOX_PORT=str(free_port()), DEV_VENV=sys.prefix)
    log_path = var.parent / "dev-start.log"
    with log_path.open("w") as log:
        # umask 022, as a login shell has it: the files must be private all the same.
        proc = subprocess.Popen([sys.executable, str(ROOT / "dev.py"), "start"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, umask=0o022)

    def login_page_answers():
        try:
            return requests.get(f"http://127.0.0.1:{web_port}/login/", timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            assert proc.poll() is None, f"dev.py start ended:\n{log_path.read_text()[-3000:]}"
            return False

    try:
        wait_for(login_page_answers, timeout=180, interval=0.5, message="the login page",
                 detail=lambda: log_path.read_text()[-3000:])
        yield {"var": var, "port": web_port, "log": log_path}
    finally:
        os.killpg(proc.pid, 15)  # honcho stops the processes it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


# --- 12.18: VAR_DIR everywhere ----------------------------------------------------------------------


def test_redis_and_the_beat_schedule_live_in_var_dir(started):
    var = started["var"]
    port = re.search(r"Redis: .*, on port (\d+)", started["log"].read_text()).group(1)
    assert redis.Redis(port=int(port)).config_get("dir")["dir"] == str(var.resolve())
    wait_for(lambda: list(var.glob("celerybeat-schedule*")), timeout=60, message="the beat schedule in VAR_DIR")
    assert (var / "db.sqlite3").stat().st_size > 0  # migrated there
    assert (var / "secret_key").exists()


# --- 13.13: owner-only ------------------------------------------------------------------------------


def test_everything_under_var_dir_is_owner_only(started):
    var = started["var"]
    wait_for(lambda: list(var.glob("celerybeat-schedule*")), timeout=60, message="the beat schedule in VAR_DIR")
    paths = [var, *var.rglob("*")]
    assert {p.name for p in paths} >= {"db.sqlite3", "secret_key", "field_encryption_keys", "old-notes.txt",
                                       "db-copy.sqlite3"}
    loose = {str(p.relative_to(var.parent)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in paths
             if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert not loose, f"not owner-only: {loose}"


def test_settings_create_the_directory_and_database_owner_only(tmp_path):
    os.umask(old := os.umask(0o022))
    try:
        private_directory(tmp_path / "var")
        private_file(tmp_path / "var" / "db.sqlite3")
        existing = tmp_path / "open.sqlite3"
        existing.write_text("")
        existing.chmod(0o644)
        private_file(existing)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "var" / "db.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600


# --- 13.5: HEAD -----------------------------------------------------------------------------------


def read_response(sock: socket.socket, buffer: bytes, with_body: bool) -> tuple[bytes, bytes, bytes]:
    """(status line, body, what is left in the buffer) of one response on a keep-alive connection."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed; had {buffer[:200]!r}"
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    if not with_body:
        return status, b"", buffer
    while len(buffer) < length:
        buffer += sock.recv(65536)
    return status, buffer[:length], buffer[length:]


def test_head_answers_carry_no_body_on_a_keep_alive_connection(started):
    """HEAD on a page, a redirect to login, a static file and a 404, then GET, all on one connection: each
    answer must begin where the one before ended."""
    heads = ["/login/", "/", "/static/vendor/htmx-2.0.11/htmx.min.js", "/no-such-page/"]
    with socket.create_connection(("127.0.0.1", started["port"]), timeout=10) as sock:
        buffer = b""
        for path in heads:
            sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            status, _, buffer = read_response(sock, buffer, with_body=False)
            assert status.startswith(b"HTTP/1.1 "), f"HEAD {path}: {status[:80]!r}"
        sock.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, body, buffer = read_response(sock, buffer, with_body=True)
    assert status == b"HTTP/1.1 200 OK", status[:80]
    assert b"Log in" in body
    assert buffer == b""


# --- 13.8: an unreadable form through gunicorn ----------------------------------------------------


def test_a_utf16_form_is_answered_400_by_the_server(started):
    base = f"http://127.0.0.1:{started['port']}"
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    form = f"csrfmiddlewaretoken={token}&username=a&password=b".encode("utf-16")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-16", "Referer": f"{base}/login/"}
    response = session.post(f"{base}/login/", data=form, headers=headers, timeout=10)
    assert response.status_code == 400, response.text[:300]
    assert "UTF-8" in response.text


# --- 18: what the quick start prints ---------------------------------------------------------------


def test_the_banner_shows_the_password_and_demo_connector_before_the_processes_speak(started):
    lines = started["log"].read_text().splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("[dev] ----")]
    first_process = min(i for i, line in enumerate(lines) if re.match(r"\d\d:\d\d:\d\d \S+\s+\|", line))
    assert len(rules) == 2 and rules[1] < first_process
    banner = "\n".join(lines[rules[0]:rules[1]])
    assert re.search(r"Created admin user 'admin' with password: \S{8,}", banner)
    demo_id = re.search(r"Sandbox demo connector: applicationId (\S+)", banner).group(1)
    # The sandbox serves that connector: it prints the same id when it starts.
    assert f"Demo connector applicationId: {demo_id}" in "\n".join(lines[first_process:])


def test_the_quick_start_logs_no_dispatcher_tick_at_info(started):
    base = f"http://127.0.0.1:{started['port']}"
    # Ready: the beat has published its ticks and a worker answers (so ticks have been received and run).
    wait_for(lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200, timeout=90, interval=0.5,
             message="/readyz to answer 200", detail=lambda: requests.get(f"{base}/readyz", timeout=5).text)
    # The dispatcher runs too: it says once that it is active, and nothing per pass.
    wait_for(lambda: re.search(r"dispatcher\s+\|.* is active ", started["log"].read_text()), timeout=60,
             message="the dispatcher to become active")
    ticks = [line for line in started["log"].read_text().splitlines() if " INFO " in line and (
        "messaging.tasks.dispatch" in line
        or ("messaging.dispatcher" in line and not line.endswith(" started") and " is active " not in line))]
    assert not ticks, ticks[:3]
