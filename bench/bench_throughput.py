"""Benchmark 1 + 6: end-to-end send throughput of the console, and peak memory of web and workers.

Not a test. Run: .venv/bin/python bench/bench_throughput.py [--messages 2000] [--workers 1,2,4]

Starts the sandbox (rate limit off), PostgreSQL/Redis when reachable (else the embedded default),
20 connectors with one active phone user and one group each, a gunicorn web process (polled with
the message list every 0.5 s during each run, as an operator watching would), then for each worker
count: one Celery worker with `--concurrency N` (prefork, N child processes) plus the one beat (the
sweepers) and the dispatcher (`manage.py dispatcher`, batch DISPATCH_BATCH), and `--messages` messages all due
at the same instant. Rate = messages / (last sent_at - due time), from the database.
The console's own limiter runs, with limits set high through the environment so it never waits.

References in the same run, same 2,000 sends round-robin over the same 20 users:
  (a) a plain loop of `requests.post`, new connection per call (the getting-started tutorial's way);
  (b) the same loop with one keep-alive `requests.Session`;
  (c) the sandbox's own capacity under concurrent keep-alive load (bench_sandbox.measure).
Writes bench/results/throughput-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness
import psutil
import requests
from harness import HIGH_LIMITS, ROOT


def reference_loop(targets: list[dict], n: int, keep_alive: bool) -> dict:
    session = requests.Session() if keep_alive else None
    post = session.post if session else requests.post
    started = time.perf_counter()
    ok = 0
    for i in range(n):
        t = targets[i % len(targets)]
        reply = post(t["url"], json={"message": f"reference {i}"}, headers={"accessToken": t["token"]}, timeout=10)
        ok += reply.status_code == 200
    elapsed = time.perf_counter() - started
    return {"messages": n, "ok": ok, "seconds": round(elapsed, 2), "perSec": round(n / elapsed, 1)}


class PeakRss:
    """Samples the RSS of a process tree every 0.1 s; also reads the kernel's VmHWM (peak) at the end."""

    def __init__(self, procs: dict[str, int]):
        self.roots = procs
        self.peak: dict[str, int] = {}
        self.hwm: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self):
        for label, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                yield label, root
                for i, child in enumerate(sorted(root.children(recursive=True), key=lambda p: p.pid)):
                    yield f"{label}/child{i + 1}", child
            except psutil.NoSuchProcess:
                continue

    def _run(self):
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.1)

    def sample(self):
        for label, proc in self._tree():
            try:
                rss = proc.memory_info().rss
                self.peak[label] = max(self.peak.get(label, 0), rss)
                status = Path(f"/proc/{proc.pid}/status").read_text()
                hwm = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM"))
                self.hwm[label] = max(self.hwm.get(label, 0), hwm)
            except (psutil.NoSuchProcess, FileNotFoundError, StopIteration):
                continue

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sample()
        self.stop.set()
        self.thread.join()

    def report(self) -> dict[str, float]:
        return {label: round(max(self.peak.get(label, 0), self.hwm.get(label, 0)) / 2**20, 1) for label in self.peak}


def start_gunicorn(port: int) -> subprocess.Popen:
    harness.LOGS.mkdir(parents=True, exist_ok=True)
    with (harness.LOGS / "gunicorn.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "kaizala_console.wsgi", "-b", f"127.0.0.1:{port}",
                                 "-w", "1", "--access-logfile", "-"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    while not harness.port_open("127.0.0.1", port):
        if proc.poll() is not None:
            raise RuntimeError("gunicorn did not start; see var/bench-logs/gunicorn.log")
        time.sleep(0.1)
    return proc


def session_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True,
                                                                                       "is_staff": True})
    from django.contrib.auth.models import Group as Role

    user.groups.add(*Role.objects.filter(name__iexact="admin"))
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def poll_pages(port: int, cookie: str, stop: threading.Event, counts: list) -> None:
    s = requests.Session()
    s.cookies.set("sessionid", cookie)
    while not stop.is_set():
        reply = s.get(f"http://127.0.0.1:{port}/messages/", timeout=30)
        counts.append(reply.status_code)
        stop.wait(0.5)


def run_console(groups, n_messages: int, concurrency: int, web_pid: int, port: int, cookie: str) -> dict:
    from django.db.models import Max

    from messaging.models import Message

    harness.purge_queue()
    harness.reset_messages()
    harness.services.flush_redis()
    worker = harness.start_worker(f"tp{concurrency}", concurrency, HIGH_LIMITS)
    beat = harness.start_beat(HIGH_LIMITS)
    dispatcher = harness.start_dispatcher(HIGH_LIMITS)  # returns once it is active
    load_before = harness.load()
    stop_polling = threading.Event()
    page_statuses: list[int] = []
    poller = threading.Thread(target=poll_pages, args=(port, cookie, stop_polling, page_statuses), daemon=True)
    try:
        pids = {"web": web_pid, "worker": worker.pid, "beat": beat.pid, "dispatcher": dispatcher.pid,
                "sandbox": harness.sandbox_pid}
        cpu_before = harness.cpu_snapshot(pids)
        pg = harness.PgBackendCpu({"worker": worker.pid, "beat": beat.pid, "web": web_pid, "bench": os.getpid()})
        with pg, PeakRss({"web": web_pid, "worker": worker.pid, "beat": beat.pid}) as rss:
            poller.start()
            due = harness.now()
            harness.create_messages(groups, [due] * n_messages)
            counts = harness.wait_until_settled(n_messages, timeout=300)
            stop_polling.set()
            poller.join()
        cpu_after = harness.cpu_snapshot(pids)
    finally:
        harness.stop(dispatcher)
        harness.stop(beat)
        harness.stop(worker)
    cpu = harness.cpu_used(cpu_before, cpu_after)
    # Each root also alone: a Celery worker's parent is the broker consumer and sends nothing.
    cpu |= {f"{label}.parent": round(cpu_after.get((label, pid), 0) - cpu_before.get((label, pid), 0), 2)
            for label, pid in pids.items()}
    last = Message.objects.aggregate(last=Max("sent_at"))["last"]
    seconds = (last - due).total_seconds() if last else float("nan")
    sent = counts.get("sent", 0)
    pg_cpu = pg.report()
    # Per message sent: the worker processes (parent and children), and the PostgreSQL backends serving the
    # send path (the worker's and the beat's connections; not the web poller's nor this script's).
    per_message = {
        "workerCpuMs": round(cpu.get("worker", 0) / sent * 1000, 3) if sent else None,
        "beatCpuMs": round(cpu.get("beat", 0) / sent * 1000, 3) if sent else None,
        "postgresCpuMs": round((pg_cpu.get("worker", 0) + pg_cpu.get("beat", 0)) / sent * 1000, 3)
        if sent and pg_cpu else None,
        "postgresWorkerCpuMs": round(pg_cpu.get("worker", 0) / sent * 1000, 3) if sent and pg_cpu else None,
    }
    return {"workerProcesses": concurrency, "messages": n_messages, "sent": sent, "statuses": counts,
            "seconds": round(seconds, 2), "perSec": round(sent / seconds, 1),
            "peakRssMiB": rss.report(), "cpuSeconds": cpu, "postgresBackendCpuSeconds": pg_cpu,
            "cpuPerMessage": per_message,
            "webPolls": len(page_statuses), "webPollErrors": sum(s != 200 for s in page_statuses),
            "loadavgBefore": load_before, "loadavgAfter": harness.load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=20, help="phone users, each on its own connector")
    parser.add_argument("--workers", default="1,2,4", help="worker processes (prefork --concurrency) per run")
    parser.add_argument("--skip-references", action="store_true")
    args = parser.parse_args()

    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services().start(sandbox_url=server.base_url, extra_env=HIGH_LIMITS)
    harness.services = services
    harness.sandbox_pid = server.process.pid
    web = None
    try:
        harness.reset_console_data()
        groups = harness.make_world(server.base_url, connectors=args.users, users=args.users)
        targets = [{"url": f"{g.phone_user.endpoint_url.rstrip('/')}/v1/groups/{g.kaizala_id}/messages",
                    "token": g.phone_user.access_token, "endpointUrl": g.phone_user.endpoint_url,
                    "accessToken": g.phone_user.access_token, "groupId": g.kaizala_id} for g in groups]
        refs = {}
        if not args.skip_references:
            print("references ...", flush=True)
            refs["a_new_connection"] = reference_loop(targets, args.messages, keep_alive=False)
            refs["b_keep_alive_session"] = reference_loop(targets, args.messages, keep_alive=True)
            import bench_sandbox

            refs["c_sandbox_capacity"] = bench_sandbox.measure(targets[0], clients=8, processes=2, duration=5.0)
            refs["c_sandbox_capacity"]["perSec"] = refs["c_sandbox_capacity"]["reqPerSec"]
        port = harness.free_port()
        web = start_gunicorn(port)
        cookie = session_cookie()
        runs = []
        for n in (int(x) for x in args.workers.split(",")):
            print(f"console, {n} worker process(es) ...", flush=True)
            runs.append(run_console(groups, args.messages, n, web.pid, port, cookie))
    finally:
        if web:
            harness.stop(web)
        harness.stop_sandbox(server)
        services.stop()

    b = refs.get("b_keep_alive_session", {}).get("perSec")
    c = refs.get("c_sandbox_capacity", {}).get("perSec")
    print(f"\nSend throughput, {args.messages} messages due at once over {args.users} phone users / connectors "
          f"({'; '.join(services.notes)})")
    rows = [[name, r["perSec"], "", ""] for name, r in refs.items()]
    for r in runs:
        rows.append([f"console, {r['workerProcesses']} worker proc", r["perSec"],
                     round(r["perSec"] / b, 2) if b else "", round(r["perSec"] / c, 2) if c else ""])
    print(harness.table(["variant", "msg/s", "vs (b)", "vs (c)"], rows))
    print("\nPeak RSS (MiB) during each run; target <= 200 each")
    for r in runs:
        print(f"  {r['workerProcesses']} worker proc: " + ", ".join(f"{k} {v}" for k, v in r["peakRssMiB"].items())
              + f"   statuses {r['statuses']}, load {r['loadavgBefore']} -> {r['loadavgAfter']}")
    print("\nCPU seconds spent per process group during each run (postgres, redis-server: every such process on "
          "the machine)")
    for r in runs:
        print(f"  {r['workerProcesses']} worker proc: " + ", ".join(f"{k} {v}" for k, v in r["cpuSeconds"].items()))
    print("\nPostgreSQL backends of the benchmark database: CPU seconds per client process group")
    for r in runs:
        print(f"  {r['workerProcesses']} worker proc: "
              + (", ".join(f"{k} {v}" for k, v in r["postgresBackendCpuSeconds"].items()) or "(not PostgreSQL)"))
    print("\nCPU ms per message sent; targets: worker <= 2.5, PostgreSQL (worker + beat backends) <= 1")
    print(harness.table(["worker proc", "worker", "beat", "PostgreSQL", "of which worker's", "load before"], [
        [r["workerProcesses"], *(r["cpuPerMessage"][k] for k in ("workerCpuMs", "beatCpuMs", "postgresCpuMs",
                                                               "postgresWorkerCpuMs")),
         r["loadavgBefore"][0]] for r in runs]))
    harness.write_result("throughput", {
        "benchmark": "send throughput + memory", "machine": harness.machine(), "services": services.notes,
        "dispatch": "manage.py dispatcher, DISPATCH_BATCH from settings/env",
        "limiter": "on, connector/tenant limits set high via env", "references": refs, "console": runs,
        "knobs": {k: os.environ.get(k, "default") for k in ("DISPATCH_BATCH", "DISPATCH_MAX_ROUNDS",
                                                            "SEND_TASK_CHUNK")},
    })


if __name__ == "__main__":
    main()
