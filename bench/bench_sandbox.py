"""Benchmark: requests per second of the sandbox's send-message call over keep-alive connections.

Not a test. Run: .venv/bin/python bench/bench_sandbox.py [--duration 5] [--clients 1,4,8] [--processes 2]
                 [--servers builtin,gunicorn]

Starts, for each server in `--servers`, `python -m kaizala_sandbox --port 0 --quiet --rate-limit off
--server <server>` as a subprocess (builtin: kaizala_sandbox/server.py; gunicorn: one gthread worker), all
at once (each client count is then measured on each server in turn, so they see the same load); each
onboards a user (generatePin -> PIN -> login -> accessToken), creates a group, then drives
`POST {endpointUrl}/v1/groups/{id}/messages` with N keep-alive clients: `--processes`
load-generator processes, each running N/processes threads with their own
http.client connection (lighter than requests, so the client side steals less of the
two cores). Records the sandbox's CPU seconds per request (its process tree) and the load average.
Prints a table and writes bench/results/sandbox-<timestamp>.json.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def start_sandbox(server: str = "builtin"):
    proc = subprocess.Popen(
        [sys.executable, "-m", "kaizala_sandbox", "--host", "127.0.0.1", "--port", "0", "--quiet",
         "--rate-limit", "off", "--server", server],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    match = re.search(r"(http://\S+)", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit("the sandbox did not print its URL")
    return proc, match[1]


def onboard(base: str) -> dict:
    s = requests.Session()
    connector = next(c for c in s.get(f"{base}/_sandbox/connectors").json()["connectors"] if c["demo"])
    mobile = "+911234500001"
    s.post(f"{base}/v1/generatePin", json={"mobileNumber": mobile, "applicationId": connector["applicationId"]})
    pin = s.get(f"{base}/_sandbox/pins", params={"mobileNumber": mobile}).json()["pins"][-1]["pin"]
    login = s.post(f"{base}/v1/loginWithPinAndApplicationId",
                   json={"mobileNumber": mobile, "applicationId": connector["applicationId"], "pin": pin}).json()
    token = s.get(f"{base}/v1/accessToken", headers={
        "applicationId": connector["applicationId"], "applicationSecret": connector["applicationSecret"],
        "refreshToken": login["refreshToken"]}).json()
    group = s.post(f"{token['endpointUrl']}v1/groups", headers={"accessToken": token["accessToken"]},
                   json={"name": "Bench", "welcomeMessage": "hi"}).json()
    return {"endpointUrl": token["endpointUrl"], "accessToken": token["accessToken"], "groupId": group["groupId"]}


def _client(target, deadline, counts, index):
    url = urllib.parse.urlsplit(target["endpointUrl"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    path = f"{url.path}v1/groups/{urllib.parse.quote(target['groupId'])}/messages"
    body = json.dumps({"message": "benchmark message"})
    headers = {"accessToken": target["accessToken"], "Content-Type": "application/json"}
    ok = errors = 0
    while time.perf_counter() < deadline:
        conn.request("POST", path, body=body, headers=headers)
        reply = conn.getresponse()
        reply.read()
        if reply.status == 200:
            ok += 1
        else:
            errors += 1
    conn.close()
    counts[index] = (ok, errors)


def _process(target, threads, duration, queue):
    deadline = time.perf_counter() + duration
    counts = [(0, 0)] * threads
    workers = [threading.Thread(target=_client, args=(target, deadline, counts, i)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((sum(c[0] for c in counts), sum(c[1] for c in counts)))


def measure(target, clients, processes, duration) -> dict:
    processes = min(processes, clients)
    queue = multiprocessing.Queue()
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [multiprocessing.Process(target=_process, args=(target, n, duration, queue)) for n in shares]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    ok, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    return {"clients": clients, "processes": processes, "seconds": round(elapsed, 2), "ok": ok, "errors": errors,
            "reqPerSec": round(ok / duration, 1)}


def tree_cpu_seconds(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--clients", default="1,4,8,16", help="comma-separated keep-alive client counts")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--servers", default="builtin,gunicorn", help="builtin and/or gunicorn, comma-separated")
    args = parser.parse_args()
    # All servers up at once, measured in turn at each client count, so each sees the same machine load.
    servers = {}
    rows = []
    try:
        for server in args.servers.split(","):
            proc, base = start_sandbox(server)
            servers[server] = (proc, base, onboard(base))
        for n in args.clients.split(","):
            for server, (proc, _, target) in servers.items():
                load = [round(x, 2) for x in os.getloadavg()]
                cpu_before = tree_cpu_seconds(proc.pid)
                row = measure(target, int(n), args.processes, args.duration)
                cpu = tree_cpu_seconds(proc.pid) - cpu_before
                rows.append({"server": server, **row, "sandboxCpuSeconds": round(cpu, 2),
                             "sandboxCpuMsPerRequest": round(1000 * cpu / max(1, row["ok"]), 3), "loadavg": load})
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    print(f"{'server':>9} {'clients':>8} {'procs':>6} {'ok':>8} {'errors':>7} {'req/s':>9} {'CPU ms/req':>11} "
          f"{'load':>6}")
    for row in rows:
        print(f"{row['server']:>9} {row['clients']:>8} {row['processes']:>6} {row['ok']:>8} {row['errors']:>7} "
              f"{row['reqPerSec']:>9} {row['sandboxCpuMsPerRequest']:>11} {row['loadavg'][0]:>6}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"sandbox-{stamp}.json"
    out.write_text(json.dumps({
        "benchmark": "sandbox send-message", "call": "POST {endpointUrl}/v1/groups/{id}/messages",
        "durationSeconds": args.duration, "cpuCount": os.cpu_count(), "python": platform.python_version(),
        "results": rows,
    }, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
