"""Profile the webhook receiver and the event processing in-process (not a benchmark, not a test).

The receiver: N event POSTs through Django's WSGI handler (the whole middleware stack, as gunicorn
calls it, DEBUG off), the Celery publish going to the real Redis broker. The processing: the stored
events processed as the worker does. Prints CPU ms per request / per event (time.process_time, the
load on the machine does not inflate it much), SQL queries of one request, and the top functions.

    .venv/bin/python bench/profile_webhooks.py [--events 500] [--top 30] [--part receiver|process|both]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid

import harness

TOKEN = "bench-callback-token-0123456789abcdef"


def _environ(path: str, body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_KZ_CALLBACK_TOKEN": TOKEN, "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def _body(event_id: str) -> bytes:
    return json.dumps({"objectId": "bench", "objectType": "Group", "eventType": "TextMessageCreated",
                       "eventId": event_id, "data": {"text": f"bench post {event_id}"},
                       "fromUser": "+919700099999", "fromUserName": "Bench member"}).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--part", default="both", choices=["receiver", "process", "both"])
    parser.add_argument("--callers", default="", help="also print the callers of functions matching this")
    parser.add_argument("--callees", default="", help="also print what functions matching this call")
    args = parser.parse_args()
    # As gunicorn runs in bench_webhooks.py: DEBUG off (no query log); the query capture below turns it on.
    os.environ.update({**harness.production_env(), "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1"})
    sandbox = harness.start_sandbox()
    services = harness.Services(db="kaizala_bench_webhooks").start(sandbox_url=sandbox.base_url)
    try:
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from events import services as event_services
        from events.models import Event, Subscription

        harness.reset_console_data()
        [group] = harness.make_world(sandbox.base_url, connectors=1, users=1, prefix="+9171111")
        subscription = Subscription.objects.create(group=group, callback_token=TOKEN,
                                                   state=Subscription.State.ACTIVE, webhook_id="bench")
        path = f"/events/hook/{subscription.key}/"
        handler = WSGIHandler()
        run = uuid.uuid4().hex[:8]

        def post(event_id):
            status = []
            body = b"".join(handler(_environ(path, _body(event_id)), lambda s, h: status.append(s)))
            assert status[0].startswith("200"), (status, body)

        for n in range(20):  # warm-up: imports, connections, the broker
            post(f"warm-{run}-{n}")
        with CaptureQueriesContext(connection) as queries:
            post(f"one-{run}")
        print(f"queries of one receiver request ({len(queries)}):")
        for q in queries.captured_queries:
            print("   ", q["sql"][:200])
        ids = [f"{run}-{n}" for n in range(args.events)]
        profiler = cProfile.Profile(time.process_time)  # CPU time, not time spent waiting
        if args.part in ("receiver", "both"):
            cpu, wall = time.process_time(), time.perf_counter()
            for event_id in ids:
                post(event_id)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"receiver, {args.events} requests: {cpu / args.events * 1000:.2f} CPU ms each "
                  f"({wall / args.events * 1000:.2f} ms wall), load {harness.load()}")
            profiler.enable()
            for n in range(args.events):
                post(f"prof-{run}-{n}")
            profiler.disable()
            if args.top:
                harness.print_profile(profiler, args)
        if args.part in ("process", "both"):
            if args.part == "process":
                for event_id in ids:
                    post(event_id)
            harness.purge_queue()  # the tasks the requests enqueued: processed here instead
            with CaptureQueriesContext(connection) as queries:
                event_services._process_batch(settings.EVENT_PROCESS_BATCH)
            print(f"queries of processing one batch of {settings.EVENT_PROCESS_BATCH} events ({len(queries)}):")
            for q in queries.captured_queries:
                print("   ", q["sql"][:200])
            waiting = Event.objects.filter(processed_at__isnull=True).count()
            for label, profiling in (("without", False), ("with", True)):
                if not profiling:
                    half = waiting // 2
                    Event.objects.filter(pk__in=Event.objects.filter(processed_at__isnull=True).order_by("-id")
                                         .values("pk")[:waiting - half]).update(error="held back")
                else:
                    Event.objects.filter(error="held back").update(error="")
                    half = waiting - half
                profiler = cProfile.Profile(time.process_time)  # CPU time, not time spent waiting
                cpu, wall = time.process_time(), time.perf_counter()
                if profiling:
                    profiler.enable()
                event_services.events_process_waiting()
                profiler.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(f"processing (the drain), {half} events {label} the profiler: {cpu / half * 1000:.2f} CPU ms "
                      f"each ({wall / half * 1000:.2f} ms wall), load {harness.load()}")
            if args.top:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    finally:
        services.stop()
        harness.stop_sandbox(sandbox)


if __name__ == "__main__":
    main()
