"""Benchmark 7: POST /api/v1/messages from concurrent API clients through gunicorn, and API call → `sent`.

Starts the sandbox (rate limit off), PostgreSQL/Redis when reachable (else the embedded default),
gunicorn (`--workers 4 --threads 4`, as README's Production section, DEBUG off), one Celery worker and
the beat. `--clients` keep-alive clients (wrk when installed, `--tool python` or without it processes ×
http.client threads, which take CPU from the server) each POST "send now" messages with an API key and a
fresh Idempotency-Key for `--duration` seconds: accepted (201) requests/s, latency percentiles and
gunicorn's CPU ms per accepted request. Then, with the send queue drained, `--e2e` single messages one at a time:
from the API call to `sent` in the database (the sandbox answered). The per-key limit is set high.
Targets: >= 200 requests/s accepted, p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

import harness
from harness import ROOT

API_DB = "kaizala_bench_api"


def _client_thread(port, key, groups, deadline, latencies, errors, tag):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        body = json.dumps({"groups": [groups[n % len(groups)]], "text": f"api bench {tag} {n}"})
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Host": "127.0.0.1",
                   "Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/messages/", body=body, headers=headers)
            reply = conn.getresponse()
            reply.read()
            status = reply.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            status = 0  # no answer
        if status == 201:
            latencies.append(time.perf_counter() - started)
        else:
            errors.append(status)


def _load_process(port, key, groups, duration, threads, queue, index):
    deadline = time.perf_counter() + duration
    latencies: list[float] = []
    errors: list[int] = []
    workers = [threading.Thread(target=_client_thread,
                                args=(port, key, groups, deadline, latencies, errors, f"{index}.{t}"))
               for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put((latencies, errors))


def python_load(port, key, groups, clients, duration, processes) -> dict:
    # Spawned, not forked: this process holds Celery's and Django's connections and threads by now.
    results = harness.client_processes(_load_process, (port, key, groups, duration), clients, processes)
    latencies = [x for r in results for x in r[0]]
    errors = [x for r in results for x in r[1]]
    return {"tool": f"python ({processes} processes x http.client threads, keep-alive)", "accepted": len(latencies),
            "errors": len(errors), "errorStatuses": sorted(set(errors)),
            "reqPerSec": round(len(latencies) / duration, 1),
            "p50ms": round(harness.percentile(latencies, 50) * 1000, 1),
            "p95ms": round(harness.percentile(latencies, 95) * 1000, 1),
            "p99ms": round(harness.percentile(latencies, 99) * 1000, 1)}


# The same requests as _client_thread's: a fresh Idempotency-Key each (this run's uuid, the thread, a counter),
# the groups in turn; only a 201 is accepted.
_WRK_POST = """wrk.headers["Authorization"] = "Bearer %(key)s"
wrk.headers["Content-Type"] = "application/json"
local groups = {%(groups)s}
local n = 0
failed = 0
function request()
  n = n + 1
  wrk.headers["Idempotency-Key"] = string.format("%(run)s-%%d-%%d", id, n)
  local body = string.format('{"groups": [%%d], "text": "api bench %%d.%%d"}', groups[n %% #groups + 1], id, n)
  return wrk.format("POST", "/api/v1/messages/", wrk.headers, body)
end
function response(status, headers, body)
  if status ~= 201 then failed = failed + 1 end
end
"""


def wrk_load(port, key, groups, clients, duration) -> dict:
    script = _WRK_POST % {"key": key, "groups": ", ".join(map(str, groups)), "run": uuid.uuid4()}
    result = harness.wrk_load(f"http://127.0.0.1:{port}/api/v1/messages/", clients=clients, duration=duration,
                              script=script, name="wrk-api")
    # wrk's percentiles are of every answer; with no errors they are the accepted requests'.
    return {**result, "accepted": result["requests"] - result["errors"]}


def warm_up(port, key, groups, workers) -> None:
    """Make every gunicorn worker serve a few posts first (its first request imports the views): each on a new
    connection, from 8 threads at once, so that each worker's accept gets some. Keep-alive clients would
    stay on the one or two workers they first reached."""

    def post(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("POST", "/api/v1/messages/", headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json", "Host": "127.0.0.1",
            "Connection": "close"}, body=json.dumps({"groups": [groups[n % len(groups)]], "text": f"warm-up {n}"}))
        conn.getresponse().read()
        conn.close()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(workers * 10)))


def post_load(port, key, groups, clients, duration, processes, tool) -> dict:
    if tool == "wrk":
        return wrk_load(port, key, groups, clients, duration)
    return python_load(port, key, groups, clients, duration, processes)


def end_to_end(port, key, group, count) -> dict:
    """One message at a time: API call → `sent` in the database (polled every 10 ms)."""
    from messaging.models import Message

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    took = []
    for n in range(count):
        started = time.perf_counter()
        conn.request("POST", "/api/v1/messages/", body=json.dumps({"groups": [group], "text": f"e2e {n}"}),
                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                              "Host": "127.0.0.1"})
        reply = conn.getresponse()
        answer = reply.read()
        if reply.status != 201:
            raise RuntimeError(f"POST answered {reply.status}: {answer[:300]!r}")
        pk = json.loads(answer)["messages"][0]["id"]
        deadline = time.monotonic() + 30
        while Message.objects.filter(pk=pk, status=Message.Status.SENT).count() == 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"message {pk} not sent within 30 s")
            time.sleep(0.01)
        took.append(time.perf_counter() - started)
    return {"messages": count, "p50ms": round(harness.percentile(took, 50) * 1000, 1),
            "p95ms": round(harness.percentile(took, 95) * 1000, 1), "maxms": round(max(took) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--processes", type=int, default=2,
                        help="client processes of the Python clients (threads split among them)")
    parser.add_argument("--tool", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="the load generator: wrk when installed (it takes less CPU from the server), else "
                             "Python http.client threads")
    parser.add_argument("--e2e", type=int, default=20, help="single messages timed from API call to sent")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--sends", choices=["during", "after"], default="during",
                        help="during: the worker, beat and dispatcher send while the clients post (they share the "
                             "cores); after: they start once the load ends (the web tier's capacity alone, as "
                             "when the workers run on other machines)")
    args = parser.parse_args()

    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services(db=API_DB).start(sandbox_url=server.base_url, extra_env={
        **harness.HIGH_LIMITS, "API_KEY_REQUESTS_PER_MINUTE": "10000000"})
    web = None
    try:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group as RoleGroup

        from api import services as api_services
        from api.models import ApiKey, IdempotencyRecord
        from audit.actor import SYSTEM

        harness.reset_console_data()
        IdempotencyRecord.objects.all().delete()
        ApiKey.objects.all().delete()
        groups = [g.pk for g in harness.make_world(server.base_url, connectors=4, users=8, prefix="+9171000")]
        user, _ = get_user_model().objects.get_or_create(username="bench-api")
        user.groups.add(RoleGroup.objects.get_or_create(name="Operator")[0])
        _, key = api_services.api_key_create(owner=user, name="bench", actor=SYSTEM)
        # DEBUG off as in production, with the host named and plain HTTP (TLS ends at the proxy there).
        env = {**services.env, **harness.production_env(), "ALLOWED_HOSTS": "127.0.0.1",
               "SECURE_SSL_REDIRECT": "false"}
        port = harness.free_port()
        harness.LOGS.mkdir(parents=True, exist_ok=True)
        with (harness.LOGS / "gunicorn-api.log").open("w") as log:
            web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "kaizala_console.wsgi", "-b", f"127.0.0.1:{port}", "--workers",
                 str(args.gunicorn_workers), "--threads", str(args.gunicorn_threads)], cwd=ROOT,
                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        while not harness.port_open("127.0.0.1", port):
            time.sleep(0.1)
        def posting(pids: dict) -> tuple[dict, dict, list]:
            warm_up(port, key, groups, args.gunicorn_workers)
            load_before = harness.load()
            print(f"{args.clients} clients for {args.duration:g} s (load {load_before})", flush=True)
            cpu_before = harness.cpu_snapshot(pids)
            load = post_load(port, key, groups, args.clients, args.duration, args.processes, args.tool)
            # While the clients posted (with --sends during, the worker sent meanwhile): where the cores went.
            cpu = harness.cpu_used(cpu_before, harness.cpu_snapshot(pids))
            print(f"accepted {load['accepted']}, errors {load['errors']}; waiting for the sends", flush=True)
            return load, cpu, load_before

        if args.sends == "after":
            print(f"gunicorn on :{port}; the sending processes start after the load", flush=True)
            load, cpu, load_before = posting({"web": web.pid})
        else:
            print(f"gunicorn on :{port}; starting the worker, the beat and the dispatcher", flush=True)
        with harness.fleet(args.worker_concurrency, env) as (worker, beat, dispatcher):
            if args.sends == "during":
                load, cpu, load_before = posting({"web": web.pid, "worker": worker.pid, "beat": beat.pid,
                                                  "dispatcher": dispatcher.pid})
            from messaging.models import Message

            total = Message.objects.count()
            drained_in = time.perf_counter()
            counts = harness.wait_until_settled(total, timeout=600)
            drained_in = round(time.perf_counter() - drained_in, 1)
            print(f"all final after {drained_in} s: {counts}; end to end", flush=True)
            e2e = end_to_end(port, key, groups[0], args.e2e)
    finally:
        if web:
            harness.stop(web)
        services.stop()
        harness.stop_sandbox(server)

    print(f"\nPOST /api/v1/messages/, {args.clients} clients ({load['tool']}), {args.duration:g} s, sends "
          f"{args.sends} the load, gunicorn "
          f"--workers {args.gunicorn_workers} --threads {args.gunicorn_threads} ({'; '.join(services.notes)}; load "
          f"{load_before}):")
    print(harness.table(["accepted", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"],
                        [[load["accepted"], load["errors"], load["reqPerSec"], load["p50ms"], load["p95ms"],
                          load["p99ms"]]]))
    print("CPU seconds during the load: " + ", ".join(f"{k} {v}" for k, v in cpu.items())
          + f"; web {cpu.get('web', 0) / max(load['accepted'], 1) * 1000:.1f} CPU ms per accepted request")
    print(f"the {total} messages were all final {drained_in} s after the load ended: {counts}")
    print(f"API call → sent, one at a time ({e2e['messages']}): p50 {e2e['p50ms']} ms, p95 {e2e['p95ms']} ms")
    harness.write_result("api", {"benchmark": "api", "machine": harness.machine(), "services": services.notes,
                                 "loadavgBefore": load_before, "clients": args.clients, "seconds": args.duration,
                                 "sends": args.sends,
                                 "gunicornWorkers": args.gunicorn_workers, "gunicornThreads": args.gunicorn_threads,
                                 "post": load, "cpuSecondsDuringLoad": cpu, "messages": total,
                                 "statusCounts": counts, "drainedSeconds": drained_in,
                                 "endToEnd": e2e})


if __name__ == "__main__":
    main()
