"""Shared set-up for the console benchmarks (not a test; not collected by pytest).

- `Services.start()`: PostgreSQL (database `kaizala_bench`, created when missing) and Redis db 9 when
  they answer on 127.0.0.1, else the embedded default (SQLite under var/, a redis-server of our own on
  a free port); says which. Django is set up in this process against them and migrated.
- `start_sandbox` / `stop_sandbox` come from tests/fixtures/sandbox.py; `celery_process` starts a
  worker or beat with an environment pointing at the same database, Redis and sandbox.
- `make_world`: connectors, active phone users and one group each, created at the sandbox over raw
  HTTP (as tests/fixtures/console.py does) and mirrored in the console's tables.
- `machine()`: the figures every result carries (cores, CPU, RAM, versions, load, date).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LOGS = ROOT / "var" / "bench-logs"
sys.path.insert(0, str(ROOT))

from dev import free_port, port_open  # noqa: E402  (one copy of the process helpers)
from dev import stop_process as stop  # noqa: E402
from tests.fixtures.sandbox import start_sandbox, stop_sandbox  # noqa: E402,F401

# BENCH_DB_SUFFIX / BENCH_REDIS_DB let two benchmarks run side by side (each with its own database and Redis db).
BENCH_DB = "kaizala_bench" + os.environ.get("BENCH_DB_SUFFIX", "")
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))
HIGH_LIMITS = {"KAIZALA_CONNECTOR_CALLS_PER_MINUTE": "6000000", "KAIZALA_TENANT_CALLS_PER_MINUTE": "18000000"}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "nproc": os.cpu_count(), "cpu": cpu,
            "ramGiB": round(mem_kb / 2**20, 1), "python": platform.python_version(), "loadavg": load()}
    try:
        from django.db import connection

        info["database"] = connection.vendor
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                info["postgresql"] = cursor.fetchone()[0]
    except Exception:
        pass
    return info


class Services:
    """The database and Redis of a benchmark run, and the environment its processes share."""

    def __init__(self, db: str | None = None):
        # A benchmark's own database (e.g. kaizala_bench_pages) takes the suffix too.
        self.db = BENCH_DB if db is None else db + os.environ.get("BENCH_DB_SUFFIX", "")
        self.env: dict[str, str] = {}
        self.redis_proc = None
        self.notes: list[str] = []

    def start(self, *, sandbox_url: str, require_postgres: bool = False, extra_env: dict | None = None) -> Services:
        if port_open("127.0.0.1", 5432):
            import psycopg

            with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.db]).fetchone():
                    conn.execute(f'CREATE DATABASE "{self.db}"')
            self.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self.db}"
            self.notes.append(f"PostgreSQL 127.0.0.1:5432/{self.db}")
        elif require_postgres:
            raise SystemExit("this benchmark needs PostgreSQL on 127.0.0.1:5432")
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / f'{self.db}.sqlite3'}"
            self.notes.append(f"embedded SQLite var/{self.db}.sqlite3 (PostgreSQL not reachable)")
        if port_open("127.0.0.1", 6379):
            self.env["REDIS_URL"] = f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}"
            self.notes.append(f"Redis 127.0.0.1:6379/{BENCH_REDIS_DB}")
        else:
            port = free_port()
            self.redis_proc = subprocess.Popen(
                [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "",
                 "--appendonly", "no"], stdout=subprocess.DEVNULL)
            while not port_open("127.0.0.1", port):
                time.sleep(0.05)
            self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            self.notes.append(f"own redis-server on :{port} (none on 6379)")
        self.env.update({"KAIZALA_AUTH_URL": sandbox_url, "KAIZALA_SANDBOX_URL": sandbox_url,
                         "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING", **(extra_env or {})})
        os.environ.update(self.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaizala_console.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.flush_redis()
        print("services: " + "; ".join(self.notes), flush=True)
        return self

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()  # our own db number (or our own server)

    def stop(self) -> None:
        if self.redis_proc:
            self.redis_proc.terminate()
            self.redis_proc.wait()


def production_env() -> dict:
    """DEBUG off, as in production (no query log in the workers), with the local secrets the
    benchmark process uses (DEBUG off needs them from the environment)."""
    from kaizala_console.local_secrets import (
        generate_fernet_key,
        generate_secret_key,
        local_secret,
        private_directory,
    )

    # Created as settings create them, so a fresh checkout (no var/ yet) can run a benchmark first.
    var = private_directory(ROOT / os.environ.get("VAR_DIR", "var"))
    return {"DEBUG": "false", "SECRET_KEY": local_secret(var / "secret_key", generate_secret_key),
            "FIELD_ENCRYPTION_KEYS": local_secret(var / "field_encryption_keys", generate_fernet_key)}


def celery_process(kind: str, *args: str, env: dict, log_name: str) -> subprocess.Popen:
    """Workers and beat run with DEBUG off (production_env); `env` may override."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{log_name}.log").open("w") as log:
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "kaizala_console", kind, "-l", "WARNING", *args],
                                cwd=ROOT, env={**os.environ, **production_env(), **env}, stdout=log,
                                stderr=subprocess.STDOUT)


def start_worker(name: str, concurrency: int, env: dict) -> subprocess.Popen:
    """A prefork worker with `concurrency` child processes; waits until it answers a ping."""
    from kaizala_console.celery import app

    node = f"{name}-{os.getpid()}"
    proc = celery_process("worker", "--concurrency", str(concurrency), "--pool", "prefork", "--without-gossip",
                          "--without-mingle", "--without-heartbeat", "-n", f"{node}@%h", env=env,
                          log_name=f"worker-{name}")
    deadline = time.monotonic() + 60
    while not any(node in reply_name for reply in app.control.ping(timeout=0.5) for reply_name in reply):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"worker {name} did not start; see {LOGS}/worker-{name}.log")
    return proc


def start_beat(env: dict) -> subprocess.Popen:
    schedule = LOGS / f"celerybeat-schedule-{os.getpid()}"
    return celery_process("beat", "-s", str(schedule), env=env, log_name="beat")


def start_dispatcher(env: dict, name: str = "dispatcher") -> subprocess.Popen:
    """`manage.py dispatcher` (DEBUG off, as the workers); returns once it holds the lease."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{name}.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "manage.py", "dispatcher", "--name", name], cwd=ROOT,
                                env={**os.environ, **production_env(), **env}, stdout=log, stderr=subprocess.STDOUT)
    from messaging.dispatcher import lease_holder

    deadline = time.monotonic() + 60
    while not (lease_holder() or "").startswith(f"{name}:"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the dispatcher did not start; see {LOGS}/{name}.log")
        time.sleep(0.05)
    return proc


@contextmanager
def fleet(concurrency: int, env: dict, name: str = "w", dispatcher: bool = True):
    """One worker (prefork, `concurrency` children), the one beat (sweepers) and the dispatcher (unless
    `dispatcher` is False: the caller dispatches); stopped on exit. Yields (worker, beat, dispatcher or None)."""
    purge_queue()
    worker = start_worker(f"{name}{concurrency}", concurrency, env)
    beat = start_beat(env)
    dispatcher_proc = start_dispatcher(env) if dispatcher else None
    try:
        yield worker, beat, dispatcher_proc
    finally:
        if dispatcher_proc:
            stop(dispatcher_proc)
        stop(beat)
        stop(worker)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_control(sandbox_url: str, method: str, path: str, **kwargs):
    reply = requests.request(method, f"{sandbox_url}/_sandbox/{path}", timeout=60, **kwargs)
    reply.raise_for_status()
    return reply.json()


def reset_console_data() -> None:
    """Empty the tables a benchmark fills (only in the benchmark's own database)."""
    from connectors.models import ApiCall, Connector, PhoneUser
    from groups.models import Group
    from messaging.models import Attempt, Message, Schedule

    for model in (Attempt, Message, Schedule, ApiCall, Group, PhoneUser, Connector):
        model.objects.all().delete()


def reset_messages() -> None:
    from connectors.models import ApiCall
    from messaging.models import Attempt, Message

    for model in (Attempt, Message, ApiCall):
        model.objects.all().delete()


def now():
    from django.utils import timezone

    return timezone.now()


services: Services | None = None  # the running Services, set by each benchmark's main()


def purge_queue() -> None:
    from kaizala_console.celery import app

    app.control.purge()


def make_world(sandbox_url: str, *, connectors: int, users: int, prefix: str = "+9170000") -> list:
    """`connectors` sandbox connectors, `users` active phone users spread over them, one group each.
    Returns the console's Group rows (select_related phone_user)."""
    from django.utils import timezone

    from connectors.models import Connector, PhoneUser
    from groups.models import Group
    from tests.fixtures.console import create_kaizala_group

    http = requests.Session()
    console_connectors = []
    for i in range(connectors):
        made = http.post(f"{sandbox_url}/_sandbox/connectors", json={"name": f"Bench {i}"}, timeout=10).json()
        console_connectors.append(Connector.objects.create(
            name=f"Bench connector {i:02d}", application_id=made["applicationId"],
            application_secret=made["applicationSecret"], auth_base_url=sandbox_url, status=Connector.Status.VERIFIED))
    groups = []
    for i in range(users):
        connector = console_connectors[i % connectors]
        mobile = f"{prefix}{i:05d}"
        issued = http.post(f"{sandbox_url}/_sandbox/tokens", timeout=10, json={
            "applicationId": connector.application_id, "kind": "user", "mobileNumber": mobile}).json()
        token = http.get(f"{sandbox_url}/v1/accessToken", timeout=10, headers={
            "applicationId": connector.application_id, "applicationSecret": connector.application_secret,
            "refreshToken": issued["refreshToken"]}).json()
        phone_user = PhoneUser.objects.create(
            connector=connector, mobile_number=mobile, token_kind="user", state=PhoneUser.State.ACTIVE,
            refresh_token=issued["refreshToken"], access_token=token["accessToken"],
            access_token_expires_at=timezone.now() + timedelta(hours=23), endpoint_url=token["endpointUrl"])
        kaizala_id = create_kaizala_group(phone_user, f"Bench group {i}")
        groups.append(Group.objects.create(phone_user=phone_user, kaizala_id=kaizala_id, name=f"Bench group {i}",
                                           state=Group.State.ACTIVE))
    return groups


def create_messages(groups: list, due_times: list, text: str = "benchmark message") -> None:
    """One scheduled message per due time, round-robin over `groups`."""
    import uuid

    from django.utils import timezone

    from messaging.models import Message

    now = timezone.now()
    broadcast = uuid.uuid4()
    Message.objects.bulk_create([
        Message(group=groups[i % len(groups)], text=f"{text} {i}", broadcast_id=broadcast,
                status=Message.Status.SCHEDULED, due_at=due, scheduled_for=due, status_changed_at=now)
        for i, due in enumerate(due_times)
    ], batch_size=1000)
    from kaizala_console.wake import dispatcher_wake

    dispatcher_wake()  # as message_create does after its commit


def status_counts() -> dict:
    from django.db.models import Count

    from messaging.models import Message

    return dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())


def wait_until_settled(total: int, timeout: float, on_tick=None) -> dict:
    """Poll until no message is scheduled/queued/sending/retrying (or `timeout`); returns the counts."""
    deadline = time.monotonic() + timeout
    while True:
        counts = status_counts()
        if on_tick:
            on_tick(counts)
        done = sum(counts.get(s, 0) for s in ("sent", "failed", "unconfirmed", "cancelled"))
        if done >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def sandbox_calls(sandbox_url: str, **filters) -> dict:
    return requests.get(f"{sandbox_url}/_sandbox/calls", params=filters, timeout=30).json()


def client_processes(target, args: tuple, clients: int, processes: int, start: str = "spawn") -> list:
    """Spread `clients` threads over `processes` load processes, each running
    `target(*args, threads, queue, index)`; returns what each put on the queue, in no particular order."""
    context = multiprocessing.get_context(start)
    queue = context.Queue()
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [context.Process(target=target, args=(*args, n, queue, i)) for i, n in enumerate(shares)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return results


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# Around a benchmark's own Lua (`wrk_load`'s `script`): each thread gets an `id`; a script that defines
# `response` counts the answers it does not accept in its thread's `failed` (then wrk's own count of 4xx/5xx
# is not added, or they would count twice).
_WRK_LUA = """local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
%s
function done(summary, latency, requests)
  local e = summary.errors
  local failed = e.connect + e.read + e.write + e.timeout
  if response then
    for _, t in ipairs(threads) do failed = failed + t:get("failed") end
  else
    failed = failed + e.status
  end
  io.write(string.format("P50 %%d\\nP95 %%d\\nP99 %%d\\nREQ %%d\\nERR %%d\\n", latency:percentile(50),
                         latency:percentile(95), latency:percentile(99), summary.requests, failed))
end
"""


def wrk_load(url: str, *, clients: int, duration: float, script: str = "", name: str = "wrk") -> dict:
    """`clients` keep-alive connections to `url` for `duration` seconds with wrk (at most 2 threads: it takes
    less CPU from the server than Python clients): requests, errors (see _WRK_LUA), requests/s without the
    errors, p50/p95/p99 in ms (of every answer). `script` is Lua: headers, a `request` function, etc.; it is
    written under var/ (owner-only), so an API key in it stays off the command line."""
    LOGS.mkdir(parents=True, exist_ok=True)
    path = LOGS / f"{name}.lua"
    path.write_text(_WRK_LUA % script)
    threads = min(2, clients)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{duration:g}s", "--timeout", "30s",
                          "-s", str(path), url], capture_output=True, text=True, check=True).stdout
    fields = {k: int(v) for k, v in re.findall(r"^(P50|P95|P99|REQ|ERR) (\d+)$", out, re.M)}
    return {"tool": f"wrk -t {threads}", "requests": fields["REQ"], "errors": fields["ERR"],
            "reqPerSec": round((fields["REQ"] - fields["ERR"]) / duration, 1),
            "p50ms": round(fields["P50"] / 1000, 1), "p95ms": round(fields["P95"] / 1000, 1),
            "p99ms": round(fields["P99"] / 1000, 1)}


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {out.relative_to(ROOT)}")
    return out


def table(headers: list[str], rows: list[list]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def cpu_snapshot(pids: dict[str, int]) -> dict[tuple[str, int], float]:
    """CPU seconds (user + system) of each process of each labelled tree (a label given this process's pid
    counts this process alone), plus every postgres and redis-server process on the machine (their figure
    includes any other load on those shared servers). Compare two with `cpu_used`."""
    import psutil

    out: dict[tuple[str, int], float] = {}

    def add(label, proc):
        try:
            t = proc.cpu_times()
            out[(label, proc.pid)] = t.user + t.system
        except psutil.NoSuchProcess:
            pass

    for label, pid in pids.items():
        try:
            root = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        add(label, root)
        if pid != os.getpid():
            for child in root.children(recursive=True):
                add(label, child)
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "redis-server"):
            add(proc.info["name"], proc)
    return out


def cpu_used(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """CPU seconds per label between two snapshots (a process that ended in between is not counted)."""
    used: dict[str, float] = {}
    for (label, pid), seconds in after.items():
        used[label] = used.get(label, 0.0) + seconds - before.get((label, pid), 0.0)
    return {label: round(seconds, 2) for label, seconds in used.items()}


def _proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process from /proc/<pid>/stat (None once it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PgBackendCpu:
    """CPU seconds of the PostgreSQL backends serving the benchmark's database, per client process group.

    Samples pg_stat_activity and /proc/<backend>/stat every `interval` s in a thread (a backend that ends
    between two samples loses at most that much). A backend present at the start counts from its value
    then, one that appears later from zero. Each backend is labelled by the process that owns its client
    socket (`groups`: label -> root pid, whose process tree is searched); anything else is "other". The
    sampler's own connection is left out. PostgreSQL's shared background processes (WAL writer,
    checkpointer, ...) serve every database on the server, so they are not in these figures.
    Linux only (/proc); on SQLite there are no backends and the figures stay empty.
    """

    def __init__(self, groups: dict[str, int], interval: float = 0.2):
        self.groups = groups
        self.interval = interval
        self.base: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.label: dict[int, str] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.conn = None

    def _owner(self, client_port: int | None) -> str:
        import psutil

        if not client_port or client_port < 0:
            return "other"
        owner = next((c.pid for c in psutil.net_connections(kind="tcp")
                      if c.laddr and c.laddr.port == client_port and c.raddr and c.raddr.port == 5432), None)
        if owner is None:
            return "other"
        for label, root in self.groups.items():
            try:
                tree = psutil.Process(root)
                if owner == root or owner in {p.pid for p in tree.children(recursive=True)}:
                    return label
            except psutil.NoSuchProcess:
                continue
        return "other"

    def sample(self, first: bool = False) -> None:
        rows = self.conn.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchall()
        for pid, client_port in rows:
            cpu = _proc_cpu_seconds(pid)
            if cpu is None:
                continue
            if pid not in self.label:
                self.label[pid] = self._owner(client_port)
                self.base[pid] = cpu if first else 0.0
            self.last[pid] = cpu

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            return self
        import psycopg

        self.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        self.sample(first=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.conn is None:
            return
        self.stop.set()
        self.thread.join()
        self.sample()
        self.conn.close()

    def report(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, label in self.label.items():
            out[label] = out.get(label, 0.0) + self.last[pid] - self.base[pid]
        return {label: round(seconds, 3) for label, seconds in sorted(out.items())}


def print_profile(profiler, args) -> None:
    """cProfile's table (`--top` rows by `--sort`) and, when asked, what calls (`--callers`) or is called by
    (`--callees`) the functions matching those names."""
    import pstats

    stats = pstats.Stats(profiler).sort_stats(args.sort)
    stats.print_stats(args.top)
    if getattr(args, "callers", ""):
        stats.print_callers(args.callers)
    if getattr(args, "callees", ""):
        stats.print_callees(args.callees)
