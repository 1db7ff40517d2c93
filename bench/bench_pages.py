"""Benchmark 5: page latency and SQL query counts at scale, then 20 concurrent clients through gunicorn.

Not a test. Run: .venv/bin/python bench/bench_pages.py [--repeat 30] [--clients 20] [--duration 15] [--reseed]

Needs PostgreSQL (127.0.0.1:5432): uses its own database `kaizala_bench_pages` (+ BENCH_DB_SUFFIX), seeded
on first use with `manage.py seed_bench` (50 connectors, 500 phone users, 10,000 groups, 200,000 messages,
500,000 call-log rows). Then, in-process with Django's test Client logged in as the seeded admin (its
two-step login verified): server time p50/p95 over `--repeat` requests (after 3 warm-ups) and the SQL query
count of the dashboard and every list and detail page, plus a filtered variant of each list showing few rows
(the query count must not grow with the rows shown); the first, middle and last keyset page of the message
list and the call log (target p95 <= 50 ms) and a jump to a date; `?q=` searches on the message, call-log,
group and phone-user lists (target p95 <= 150 ms); then the CSV export of all 200k messages (time, queries,
peak Python memory). Last, gunicorn as README's Production section runs it (`--workers 4 --threads 4`, DEBUG
off) serves the message list, then the dashboard, each to `--clients` concurrent keep-alive clients for
`--duration` seconds (wrk when installed — `apt-get install wrk`; else Python load-generator processes with
http.client threads, which take CPU from the server on a small machine): target >= 100 requests/s and
p95 <= 300 ms. `--only-concurrent` runs only that part.
Writes bench/results/pages-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import harness
from harness import ROOT

PAGES_DB = "kaizala_bench_pages"


def targets() -> list[tuple[str, str, str]]:
    """(name, url, kind) for every page; kind 'few' marks a filtered list showing few rows, 'first' / 'middle' /
    'last' the keyset pages of the two big lists (messages, call log), 'deep' a page reached by date, 'search' a
    ?q= search."""
    from django.db.models import Count

    from connectors.models import ApiCall, Connector, PhoneUser
    from groups.models import Group
    from messaging.models import Message, Schedule

    connector = Connector.objects.order_by("pk").first()
    phone_user = PhoneUser.objects.annotate(n=Count("groups")).order_by("-n", "pk").first()
    group = Group.objects.order_by("pk").first()
    message = Message.objects.order_by("-pk").first()
    call = ApiCall.objects.order_by("-pk").first()
    schedule = Schedule.objects.order_by("pk").first()
    few_group = Message.objects.filter(status=Message.Status.CANCELLED).values_list("group_id", flat=True).first()

    def after(model, field, rank):
        """The keyset link to the page after the row `rank` rows from the oldest (kaizala_console/keyset.py)."""
        from kaizala_console.keyset import encode_cursor

        row = model.objects.order_by(field, "id").values_list(field, "id")[rank]
        return f"?after={encode_cursor(list(row))}"

    calls, messages = ApiCall.objects.count(), Message.objects.count()
    middle_day = Message.objects.order_by("due_at").values_list("due_at", flat=True)[messages // 2].date()
    return [
        ("dashboard", "/", "page"),
        ("connector list", "/connectors/", "list"),
        ("connector detail", f"/connectors/{connector.pk}/", "detail"),
        ("phone user list", "/phone-users/", "list"),
        ("phone user list, 1 connector", f"/phone-users/?connector={connector.pk}&state=login_failed", "few"),
        ("phone user detail", f"/phone-users/{phone_user.pk}/", "detail"),
        ("api call list, first page", "/api-calls/", "first"),
        ("api call list, filtered", f"/api-calls/?phone_user={phone_user.pk}&status=5xx", "few"),
        ("api call list, middle page", f"/api-calls/{after(ApiCall, 'created_at', calls // 2)}", "middle"),
        ("api call list, last page", f"/api-calls/{after(ApiCall, 'created_at', 50)}", "last"),
        ("api call detail", f"/api-calls/{call.pk}/", "detail"),
        ("group list", "/groups/", "list"),
        ("group list, search", "/groups/?q=Seed+group+00001", "search"),
        ("group list, search no match", "/groups/?q=no+such+group", "search"),
        ("group detail", f"/groups/{group.pk}/", "detail"),
        ("message list, first page", "/messages/", "first"),
        ("message list, filtered", f"/messages/?status=cancelled&group={few_group}", "few"),
        ("message list, middle page", f"/messages/{after(Message, 'due_at', messages // 2)}", "middle"),
        ("message list, last page", f"/messages/{after(Message, 'due_at', 50)}", "last"),
        ("message list, jump to date", f"/messages/?date={middle_day}", "deep"),
        ("message detail", f"/messages/{message.pk}/", "detail"),
        # ?q= search (trigram indexes, kaizala_console/migrations/0002): rare, everywhere, and no match.
        ("message list, search rare", "/messages/?q=message+12345", "search"),
        ("message list, search common", "/messages/?q=seeded", "search"),
        ("message list, search no match", "/messages/?q=no+such+words", "search"),
        ("api call list, search", "/api-calls/?q=groups/4242@1", "search"),
        ("api call list, search no match", "/api-calls/?q=no-such-path", "search"),
        ("phone user list, search", "/phone-users/?q=00042", "search"),
        ("phone user list, search no match", "/phone-users/?q=99999999", "search"),
        ("schedule list", "/messages/schedules/", "list"),
        ("schedule detail", f"/messages/schedules/{schedule.pk}/", "detail"),
    ]


def logged_in_client():
    """A test Client logged in as the seeded admin, its session verified by a confirmed authenticator (an
    Admin must pass the two-step login, accounts/two_step.py), as for a person who typed the code."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.get(username="bench-admin")
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "bench"})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


# p95 targets (ms): the big lists' keyset pages (issue 19, item 2), searches (issue 18), every other page.
TARGET_MS = {"first": 50, "middle": 50, "last": 50, "search": 150}
OTHER_TARGET_MS = 150


def rows_shown(html: str) -> int:
    return len(re.findall(r"<tr\b", html)) - len(re.findall(r"<thead\b", html))


def measure_in_process(repeat: int) -> list[dict]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client = logged_in_client()
    rows = []
    for name, url, kind in targets():
        for _ in range(3):
            reply = client.get(url)
        assert reply.status_code == 200, f"{url} -> {reply.status_code}"
        # The request_started signal empties the query log, so start the capture from an empty log.
        reset_queries()
        with CaptureQueriesContext(connection) as capture:
            reply = client.get(url)
        queries = list(capture.captured_queries)  # a view on the live log: copy it before the next reset
        times = []
        cpu_started = time.process_time()
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            reset_queries()
        # This process's CPU per request (the server's share; PostgreSQL's is apart): steadier than wall time
        # on a busy machine.
        cpu_ms = (time.process_time() - cpu_started) / repeat * 1000
        rows.append({"page": name, "url": url, "kind": kind, "queries": len(queries),
                     "rowsShown": rows_shown(reply.content.decode()), "p50ms": round(harness.percentile(times, 50), 1),
                     "p95ms": round(harness.percentile(times, 95), 1), "maxms": round(max(times), 1),
                     "cpuMsPerRequest": round(cpu_ms, 1),
                     "targetMs": TARGET_MS.get(kind, OTHER_TARGET_MS), "sql": [q["sql"][:300] for q in queries]})
        rows[-1]["met"] = rows[-1]["p95ms"] <= rows[-1]["targetMs"]
        print(f"  {name:<34} {rows[-1]['p95ms']:>8} ms p95  {rows[-1]['queries']:>3} queries  "
              f"(load {harness.load()[0]})", flush=True)
    return rows


def measure_export() -> dict:
    """The CSV export of every message (200k), streamed: seconds, bytes, the queries (one per keyset chunk),
    and the peak of Python's allocations while the body is read (tracemalloc) against the body's size."""
    import tracemalloc

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client = logged_in_client()
    reset_queries()
    tracemalloc.start()
    started = time.perf_counter()
    size = lines = 0
    with CaptureQueriesContext(connection) as capture:
        response = client.get("/messages/export.csv")
        for piece in response.streaming_content:
            size += len(piece)
            lines += piece.count(b"\r\n")
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {"rows": lines - 1, "bytes": size, "seconds": round(seconds, 2), "queries": len(capture),
              "peakPythonMiB": round(peak / 2**20, 1), "bodyMiB": round(size / 2**20, 1)}
    print(f"  export of {result['rows']} messages: {result['seconds']} s, {result['bodyMiB']} MiB of CSV, "
          f"peak {result['peakPythonMiB']} MiB of Python allocations, {result['queries']} queries", flush=True)
    return result


def _client_thread(port, path, cookie, deadline, latencies, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"}
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            reply = conn.getresponse()
            reply.read()
            ok = reply.status == 200
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            ok = False
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors.append(1)


def _load_process(port, path, cookie, duration, threads, queue, _index):
    deadline = time.perf_counter() + duration
    latencies: list[float] = []
    errors: list[int] = []
    workers = [threading.Thread(target=_client_thread, args=(port, path, cookie, deadline, latencies, errors))
               for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put((latencies, len(errors)))


def python_load(port, path, cookie, clients, duration, processes=2) -> dict:
    results = harness.client_processes(_load_process, (port, path, cookie, duration), clients, processes, "fork")
    latencies = [x for r in results for x in r[0]]
    return {"tool": f"python ({processes} processes x http.client threads)", "requests": len(latencies),
            "errors": sum(r[1] for r in results), "reqPerSec": round(len(latencies) / duration, 1),
            "p50ms": round(harness.percentile(latencies, 50) * 1000, 1),
            "p95ms": round(harness.percentile(latencies, 95) * 1000, 1)}


def wrk_load(port, path, cookie, clients, duration) -> dict:
    return harness.wrk_load(f"http://127.0.0.1:{port}{path}", clients=clients, duration=duration, name="wrk-pages",
                            script=f'wrk.headers["Cookie"] = "sessionid={cookie}"')


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn's master and workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


CONCURRENT_PAGES = ("/messages/", "/")  # the message list and the dashboard (issue 19, item 3)


def concurrent_run(clients: int, duration: float, workers: int, threads: int, services) -> list[dict]:
    """Each of CONCURRENT_PAGES in turn, `clients` keep-alive clients for `duration` seconds, through one gunicorn
    started as in production (DEBUG off, plain HTTP as behind the TLS proxy)."""
    cookie = logged_in_client().cookies["sessionid"].value
    port = harness.free_port()
    harness.LOGS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **services.env, **harness.production_env(), "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "false"}
    # With DEBUG off (as gunicorn runs), so the hashed files and their manifest are what it serves.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    with (harness.LOGS / "gunicorn-pages.log").open("w") as log:
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "kaizala_console.wsgi", "-b", f"127.0.0.1:{port}",
                                "--workers", str(workers), "--threads", str(threads)], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    results = []
    try:
        while not harness.port_open("127.0.0.1", port):
            time.sleep(0.1)
        for path in CONCURRENT_PAGES:
            # The page itself, not a redirect (to the login or the two-step code page: wrk counts no 3xx as an error).
            check = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            check.request("GET", path, headers={"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"})
            status = check.getresponse().status
            check.close()
            if status != 200:
                raise SystemExit(f"gunicorn answered {status} for {path}, not the page: see {harness.LOGS}")
            python_load(port, path, cookie, 4, 2.0)  # warm every gunicorn worker
            load_before = harness.load()
            cpu_before = _cpu_seconds(web.pid)
            if shutil.which("wrk"):
                result = wrk_load(port, path, cookie, clients, duration)
            else:
                result = python_load(port, path, cookie, clients, duration)
            # gunicorn's CPU per request served: steadier than requests/s on a machine shared with other work.
            cpu_ms = (_cpu_seconds(web.pid) - cpu_before) / max(result["requests"], 1) * 1000
            results.append({"page": path, "clients": clients, "seconds": duration, "gunicornWorkers": workers,
                            "gunicornThreads": threads, "loadavgBefore": load_before,
                            "gunicornCpuMsPerRequest": round(cpu_ms, 1), **result})
            print(f"  {path:<12} {result['reqPerSec']:>7} req/s  p95 {result['p95ms']} ms  "
                  f"gunicorn CPU {cpu_ms:.1f} ms/request  errors {result['errors']}  (load {load_before})", flush=True)
    finally:
        harness.stop(web)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--gunicorn-workers", type=int, default=4, help="as README's Production section")
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="as README's Production section")
    parser.add_argument("--reseed", action="store_true", help="empty and seed the pages database again")
    parser.add_argument("--skip-concurrent", action="store_true")
    parser.add_argument("--only-concurrent", action="store_true", help="only the gunicorn part (no in-process pages)")
    args = parser.parse_args()

    services = harness.Services(db=PAGES_DB).start(sandbox_url="http://127.0.0.1:8700", require_postgres=True)
    try:
        from django.core.management import call_command

        from connectors.models import ApiCall
        from messaging.models import Message

        seeded = None
        if args.reseed or Message.objects.count() < 200_000 or ApiCall.objects.count() < 500_000:
            started = time.perf_counter()
            call_command("seed_bench", reset=True)
            seeded = round(time.perf_counter() - started, 1)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"in-process, {args.repeat} requests per page (p95 target <= 150 ms):", flush=True)
        load_before = harness.load()
        pages = [] if args.only_concurrent else measure_in_process(args.repeat)
        export = None if args.only_concurrent else measure_export()
        concurrent = [] if args.skip_concurrent else concurrent_run(args.clients, args.duration, args.gunicorn_workers,
                                                                    args.gunicorn_threads, services)
    finally:
        services.stop()

    if concurrent:
        for c in concurrent:
            c["met"] = c["reqPerSec"] >= 100 and c["p95ms"] <= 300
    print(f"\nPages at scale ({'; '.join(services.notes)}; load {load_before}); seed took {seeded} s")
    if pages:
        print(harness.table(["page", "kind", "rows", "queries", "p50 ms", "p95 ms", "max ms", "CPU ms", "target",
                             "met"],
                            [[p["page"], p["kind"], p["rowsShown"], p["queries"], p["p50ms"], p["p95ms"], p["maxms"],
                              p["cpuMsPerRequest"], p["targetMs"], "yes" if p["met"] else "NO"] for p in pages]))
    if concurrent:
        first = concurrent[0]
        print(f"\n{first['clients']} concurrent clients through gunicorn (--workers {first['gunicornWorkers']} "
              f"--threads {first['gunicornThreads']}, DEBUG off), {first['tool']}, {first['seconds']:g} s each "
              "(target >= 100 req/s, p95 <= 300 ms):")
        print(harness.table(["page", "requests", "errors", "req/s", "p50 ms", "p95 ms", "gunicorn CPU ms/req", "load",
                             "met"],
                            [[c["page"], c["requests"], c["errors"], c["reqPerSec"], c["p50ms"], c["p95ms"],
                              c["gunicornCpuMsPerRequest"], c["loadavgBefore"][0], "yes" if c["met"] else "NO"]
                             for c in concurrent]))
    harness.write_result("pages", {"benchmark": "pages at scale", "machine": harness.machine(),
                                   "services": services.notes, "seedSeconds": seeded, "repeat": args.repeat,
                                   "pages": pages, "export": export, "concurrent": concurrent})


if __name__ == "__main__":
    main()
