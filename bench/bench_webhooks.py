"""Benchmark 7: the webhook receiver under 20 concurrent senders (issue 14).

10,000 events (TextMessageCreated, unique eventIds; every 20th also delivered a second time, as Kaizala's
at-least-once delivery does) are POSTed by 20 threads with keep-alive connections (http.client; `--client
requests` for requests sessions, as the first runs did) to one subscription's
receiver URL, served by gunicorn as in README's Production section (`--workers 4 --threads 4`, DEBUG
off). One Celery worker processes the stored events into inbound posts. Reported: events accepted per
second, p50/p99 answer time, the time from the last answer to the last event processed, and the audit:
0 lost, 0 stored twice, 0 posts twice; and CPU seconds per process while sending and while draining.
Targets: ≥ 500 events/s, p99 ≤ 100 ms, all processed within 10 s.

    .venv/bin/python bench/bench_webhooks.py [--events 10000] [--senders 20] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit

import harness
import requests
from harness import ROOT

TOKEN = "bench-callback-token-0123456789abcdef"


def start_web(port: int, workers: int, threads: int) -> subprocess.Popen:
    harness.LOGS.mkdir(parents=True, exist_ok=True)
    env = {**harness.os.environ, **harness.production_env(), "SECURE_SSL_REDIRECT": "false",
           "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    with (harness.LOGS / "gunicorn-webhooks.log").open("w") as log:
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "kaizala_console.wsgi", "-b", f"127.0.0.1:{port}",
                                "--workers", str(workers), "--threads", str(threads)], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    while not harness.port_open("127.0.0.1", port):
        time.sleep(0.1)
    return web


class _Plain:
    """One keep-alive connection with http.client (as bench_api.py's clients): the senders share the 2 cores
    with the console, and requests' own CPU per call is several times http.client's."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, body: str, headers: dict) -> int:
        try:
            self.conn.request("POST", self.path, body=body, headers={**headers, "Host": self.host})
            reply = self.conn.getresponse()
            reply.read()
            return reply.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            return 0  # no answer


class _Requests:
    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def post(self, body: str, headers: dict) -> int:
        return self.session.post(self.url, data=body, headers=headers, timeout=30).status_code


def send_all(url: str, events: int, senders: int, run: str, client: str = "http.client") -> dict:
    ids = [f"{run}-{n}" for n in range(events)]
    chunks = [ids[k::senders] for k in range(senders)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(senders)

    def sender(chunk):
        session = (_Plain if client == "http.client" else _Requests)(url)
        headers = {"Content-Type": "application/json", "kz-callback-token": TOKEN}
        mine, codes = [], {}
        barrier.wait()
        for n, event_id in enumerate(chunk):
            body = json.dumps({"objectId": "bench", "objectType": "Group", "eventType": "TextMessageCreated",
                               "eventId": event_id, "data": {"text": f"bench post {event_id}"},
                               "fromUser": "+919700099999", "fromUserName": "Bench member"})
            for _ in range(2 if n % 20 == 0 else 1):  # every 20th: a redelivery right after
                started = time.perf_counter()
                status = session.post(body, headers)
                mine.append(time.perf_counter() - started)
                codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=sender, args=(chunk,)) for chunk in chunks]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = time.monotonic()
    return {"ids": ids, "latencies": latencies, "statuses": statuses, "seconds": finished - started,
            "lastAnswerAt": time.time()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2, help="the Celery worker's processes")
    parser.add_argument("--gunicorn-workers", type=int, default=4, help="as README's Production section")
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="as README's Production section")
    parser.add_argument("--client", default="http.client", choices=["http.client", "requests"],
                        help="what the 20 senders post with (requests costs the shared cores more per call)")
    args = parser.parse_args()

    sandbox = harness.start_sandbox()
    services = harness.Services(db="kaizala_bench_webhooks").start(sandbox_url=sandbox.base_url)
    web = worker = None
    try:
        from django.db.models import Count, Max

        from events.models import Event, InboundPost, Subscription

        harness.reset_console_data()
        [group] = harness.make_world(sandbox.base_url, connectors=1, users=1, prefix="+9171111")
        subscription = Subscription.objects.create(group=group, callback_token=TOKEN,
                                                   state=Subscription.State.ACTIVE, webhook_id="bench")
        harness.purge_queue()
        worker = harness.start_worker("events", args.concurrency, env={})
        port = harness.free_port()
        web = start_web(port, args.gunicorn_workers, args.gunicorn_threads)
        url = f"http://127.0.0.1:{port}/events/hook/{subscription.key}/"
        warm = send_all(url, 40, 4, f"warm-{uuid.uuid4().hex[:6]}")  # every gunicorn worker imports and connects
        assert set(warm["statuses"]) == {200}, warm["statuses"]
        load_before = harness.load()
        run = f"bench-{uuid.uuid4().hex[:8]}"
        pids = {"web": web.pid, "worker": worker.pid, "bench": harness.os.getpid()}
        cpu_before = harness.cpu_snapshot(pids)
        sent = send_all(url, args.events, args.senders, run, args.client)
        cpu_sent = harness.cpu_snapshot(pids)
        deadline = time.monotonic() + 300
        while Event.objects.filter(event_id__startswith=run, processed_at__isnull=True).exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cpu_drained = harness.cpu_snapshot(pids)
        events = Event.objects.filter(event_id__startswith=run)
        stored = events.count()
        twice = events.values("event_id").annotate(n=Count("id")).filter(n__gt=1).count()
        unprocessed = events.filter(processed_at__isnull=True).count()
        failed = events.exclude(error="").count()
        posts = InboundPost.objects.filter(event__event_id__startswith=run)
        last_processed = events.aggregate(last=Max("processed_at"))["last"]
        drain = last_processed.timestamp() - sent["lastAnswerAt"] if last_processed else None
        requests_made = sum(sent["statuses"].values())
        result = {
            "events": args.events, "requests": requests_made, "redeliveries": requests_made - args.events,
            "senders": args.senders, "client": args.client, "gunicornWorkers": args.gunicorn_workers,
            "gunicornThreads": args.gunicorn_threads, "celeryConcurrency": args.concurrency,
            "statuses": sent["statuses"], "seconds": round(sent["seconds"], 2),
            "eventsPerSec": round(args.events / sent["seconds"], 1),
            "requestsPerSec": round(requests_made / sent["seconds"], 1),
            "p50ms": round(harness.percentile(sent["latencies"], 50) * 1000, 1),
            "p99ms": round(harness.percentile(sent["latencies"], 99) * 1000, 1),
            "lastAnswerToLastProcessedSec": round(drain, 2) if drain is not None else None,
            "stored": stored, "lost": args.events - stored, "storedTwice": twice, "unprocessed": unprocessed,
            "failed": failed, "posts": posts.count(),
            "postsTwice": posts.values("event_id").annotate(n=Count("id")).filter(n__gt=1).count(),
            # CPU seconds while the events were sent, and from then until the last was processed ("bench" is
            # the 20 sending threads; postgres and redis-server are every such process on the machine).
            "cpuSecondsSending": harness.cpu_used(cpu_before, cpu_sent),
            "cpuSecondsDraining": harness.cpu_used(cpu_sent, cpu_drained),
            "loadavgBefore": load_before, "loadavgAfter": harness.load(), "machine": harness.machine(),
            "services": services.notes,
        }
        print(harness.table(
            ["events", "events/s", "p50 ms", "p99 ms", "drain s", "lost", "twice", "unprocessed", "load before"],
            [[args.events, result["eventsPerSec"], result["p50ms"], result["p99ms"],
              result["lastAnswerToLastProcessedSec"], result["lost"], twice, unprocessed, load_before[0]]]))
        for phase in ("Sending", "Draining"):
            used = result[f"cpuSeconds{phase}"]
            print(f"CPU seconds {phase.lower()}: " + ", ".join(f"{k} {v}" for k, v in used.items()))
        harness.write_result("webhooks", result)
    finally:
        if web:
            harness.stop(web)
        if worker:
            harness.stop(worker)
        services.stop()
        harness.stop_sandbox(sandbox)


if __name__ == "__main__":
    main()
