"""The fault-suite harness: a private Redis, worker and beat processes with short recovery timeouts,
a batch of messages with unique texts, and the audit that proves nothing was lost or sent twice.

Every scenario uses its own redis-server (started here on a free port, nothing on disk), so it can be
flushed and restarted without touching the Redis that the rest of the suite (or the machine) shares,
and so no worker from another test module consumes its tasks.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.utils import timezone

from dev import free_port, port_open, redis_command, redis_server_binary, var_dir
from groups.models import Group
from messaging.models import Message
from tests.fixtures.celery_worker import ROOT, celery_env, wait_for

ARTIFACTS = ROOT / "test-artifacts"
FIGURES = ARTIFACTS / "reliability-figures.md"
FINAL = {str(s) for s in Message.FINAL}

# What the worker and beat processes of every scenario run with (documented in tests/reliability/README.md).
WORKER_ENV = {
    # A message claimed but never picked up (flushed broker, killed worker's prefetch) is enqueued again
    # after 8 s instead of 120 s; one stuck in `sending` becomes unconfirmed after 12 s instead of 180 s.
    "QUEUED_TIMEOUT": "8",
    "SENDING_TIMEOUT": "12",
    # A worker retries recording a send's outcome through a database outage for up to 8 s (below 12).
    "FINISH_RETRY_SECONDS": "8",
    # Retries after 502/503/connection errors come back after ~0.2, 0.4, 0.8 ... s instead of 2, 4, 8 ...
    "RETRY_BACKOFF_BASE": "0.2",
    "RETRY_BACKOFF_MAX": "3",
    # A held (timeout-fault) answer is given up on after 2 s instead of 30 s.
    "KAIZALA_CONNECT_TIMEOUT": "2",
    "KAIZALA_READ_TIMEOUT": "2",
    "DB_CONN_MAX_AGE": "60",
}


class PrivateRedis:
    """A redis-server of this test's own, which the test may flush, stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary, _ = redis_server_binary(embedded=False)
        self.proc = subprocess.Popen(redis_command(binary, self.port, var_dir()), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port, timeout=0.2):
            if time.monotonic() > deadline:
                raise RuntimeError("the private redis-server did not start")
            time.sleep(0.05)

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def flush_and_stop(self) -> None:
        """FLUSHALL (the queue, the unacked tasks, the limiter and lock keys go), then stop the server."""
        self.client().flushall()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@dataclass
class Fleet:
    """The processes of one scenario; each runs in its own session so a SIGKILL takes its children too."""

    redis: PrivateRedis
    extra_env: dict = field(default_factory=dict)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    beats: dict[str, subprocess.Popen] = field(default_factory=dict)
    tmp: Path = ARTIFACTS

    def env(self) -> dict:
        return {**celery_env(), "REDIS_URL": self.redis.url, **WORKER_ENV, **self.extra_env}

    def _spawn(self, kind: str, name: str, *args: str) -> subprocess.Popen:
        log_path = ARTIFACTS / f"reliability-{name}.log"
        ARTIFACTS.mkdir(exist_ok=True)
        with log_path.open("a") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "kaizala_console", kind, "-l", "INFO", *args],
                cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        log_path = ARTIFACTS / f"reliability-{name}.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        proc = self._spawn("worker", name, "--concurrency", str(concurrency), "--without-gossip",
                           "--without-mingle", "--without-heartbeat", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h")
        deadline = time.monotonic() + 40
        while " ready." not in log_path.read_text(errors="replace")[offset:]:
            if proc.poll() is not None or time.monotonic() > deadline:
                kill_group(proc)
                raise RuntimeError(f"worker {name} did not start; see {log_path}")
            time.sleep(0.1)
        self.workers[name] = proc
        return proc

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        """The beat (the sweepers) and a dispatcher beside it (two beats: one dispatcher stands by)."""
        proc = self._spawn("beat", name, "-s", str(self.tmp / f"{name}-schedule"))
        self.beats[name] = proc
        log_path = ARTIFACTS / f"reliability-{name}-dispatcher.log"
        with log_path.open("a") as log:
            self.beats[f"{name}-dispatcher"] = subprocess.Popen(
                [sys.executable, "manage.py", "dispatcher", "--name", f"{name}-dispatcher"], cwd=ROOT, env=self.env(),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return proc

    def stop_all(self) -> None:
        for proc in [*self.beats.values(), *self.workers.values()]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.beats.values(), *self.workers.values()]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process and every child of its session (a prefork worker's pool processes)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


# --- the batch and the audit --------------------------------------------------------------------------


def create_batch(groups: list[Group], count: int, tag: str) -> list[str]:
    """`count` messages due now with unique texts, spread round-robin over `groups` (one insert)."""
    now = timezone.now()
    texts = [f"{tag} #{i:05d} {uuid.uuid4().hex[:8]}" for i in range(count)]
    broadcast = uuid.uuid4()
    Message.objects.bulk_create([
        Message(group=groups[i % len(groups)], text=text, broadcast_id=broadcast, status=Message.Status.SCHEDULED,
                due_at=now, scheduled_for=now, status_changed_at=now)
        for i, text in enumerate(texts)
    ], batch_size=500)
    return texts


def status_counts(texts=None) -> collections.Counter:
    rows = Message.objects.all() if texts is None else Message.objects.filter(text__in=texts)
    return collections.Counter(rows.values_list("status", flat=True))


def wait_until(predicate, timeout: float, what: str):
    return wait_for(predicate, timeout, interval=0.25, message=what,
                    detail=lambda: f"statuses now {dict(status_counts())}")


def all_final(texts) -> bool:
    counts = status_counts(texts)
    return sum(counts.values()) == len(texts) and set(counts) <= FINAL


@dataclass
class Audit:
    scenario: str
    database: str
    total: int
    statuses: dict
    duplicates: int  # extra arrivals of a text that arrived more than once
    lost: int  # not in a final state, or `sent` in the database but never arrived
    sent_not_arrived: list
    not_final: int
    failed_but_arrived: int
    unknown_arrivals: int
    seconds: float

    @property
    def row(self) -> str:
        s = self.statuses
        return (f"| {self.scenario} | {self.database} | {self.total} | {s.get('sent', 0)} | {s.get('failed', 0)} | "
                f"{s.get('unconfirmed', 0)} | {s.get('cancelled', 0)} | {self.duplicates} | {self.lost} | "
                f"{self.seconds:.0f} |")

    def assert_clean(self) -> None:
        assert self.not_final == 0, f"{self.not_final} messages are not in a final state: {self.statuses}"
        assert self.duplicates == 0, f"{self.duplicates} texts arrived more than once"
        assert not self.sent_not_arrived, f"{len(self.sent_not_arrived)} `sent` messages never arrived"
        assert self.failed_but_arrived == 0, f"{self.failed_but_arrived} `failed` messages did arrive"
        assert self.unknown_arrivals == 0, f"{self.unknown_arrivals} texts arrived that the batch never had"


def audit(scenario: str, sandbox, groups: list[Group], texts: list[str], started: float) -> Audit:
    arrived = collections.Counter(m["text"] for g in groups for m in sandbox.messages(g.kaizala_id))
    rows = dict(Message.objects.filter(text__in=texts).values_list("text", "status"))
    statuses = collections.Counter(rows.values())
    not_final = sum(n for status, n in statuses.items() if status not in FINAL) + (len(texts) - len(rows))
    sent_not_arrived = [t for t, s in rows.items() if s == "sent" and arrived[t] == 0]
    result = Audit(
        scenario=scenario, database=connection.vendor, total=len(texts), statuses=dict(statuses),
        duplicates=sum(n - 1 for n in arrived.values() if n > 1),
        lost=not_final + len(sent_not_arrived), sent_not_arrived=sent_not_arrived, not_final=not_final,
        failed_but_arrived=sum(1 for t, s in rows.items() if s == "failed" and arrived[t]),
        unknown_arrivals=sum(n for t, n in arrived.items() if t not in rows),
        seconds=time.monotonic() - started,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    if not FIGURES.exists():
        FIGURES.write_text("| scenario | db | messages | sent | failed | unconfirmed | cancelled | duplicates | lost "
                           "| seconds |\n|---|---|---|---|---|---|---|---|---|---|\n")
    with FIGURES.open("a") as out:
        out.write(result.row + "\n")
    print("\n" + result.row)
    return result
