"""Profile POST /api/v1/messages/ in-process (not a benchmark, not a test).

N "send now" POSTs, each with a fresh Idempotency-Key, through Django's WSGI handler (the whole middleware
stack, as gunicorn calls it, DEBUG off) with an Operator's API key, as bench_api.py sends them. Prints CPU
ms per request (time.process_time), the SQL queries of one request, and the top functions by CPU time.

    .venv/bin/python bench/profile_api.py [--requests 300] [--top 40] [--sort cumulative]
"""

import argparse
import cProfile
import io
import json
import os
import sys
import time
import uuid

import harness

API_DB = "kaizala_bench_api"


def _environ(key: str, body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/messages/", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4()),
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--callees", default="", help="also print what functions matching this call")
    args = parser.parse_args()
    os.environ.update({**harness.production_env(), "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1"})
    sandbox = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services(db=API_DB).start(sandbox_url=sandbox.base_url, extra_env={
        **harness.HIGH_LIMITS, "API_KEY_REQUESTS_PER_MINUTE": "10000000"})
    try:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group as RoleGroup
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from api import services as api_services
        from api.models import ApiKey, IdempotencyRecord
        from audit.actor import SYSTEM

        harness.reset_console_data()
        IdempotencyRecord.objects.all().delete()
        ApiKey.objects.all().delete()
        groups = [g.pk for g in harness.make_world(sandbox.base_url, connectors=4, users=8, prefix="+9171000")]
        user, _ = get_user_model().objects.get_or_create(username="bench-api")
        user.groups.add(RoleGroup.objects.get_or_create(name="Operator")[0])
        _, key = api_services.api_key_create(owner=user, name="bench", actor=SYSTEM)
        handler = WSGIHandler()

        def post(n):
            body = json.dumps({"groups": [groups[n % len(groups)]], "text": f"api profile {n}"}).encode()
            status = []
            answer = b"".join(handler(_environ(key, body), lambda s, h: status.append(s)))
            assert status[0].startswith("201"), (status, answer[:300])

        for n in range(20):  # warm-up: imports, connections, the last-used time written
            post(n)
        with CaptureQueriesContext(connection) as queries:
            post(0)
        print(f"queries of one request ({len(queries)}):")
        for q in queries.captured_queries:
            print("   ", q["sql"][:220])
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(args.requests):
            post(n)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"POST /api/v1/messages/, {args.requests} requests: {cpu / args.requests * 1000:.2f} CPU ms each "
              f"({wall / args.requests * 1000:.2f} ms wall), load {harness.load()}")
        if args.top:
            profiler = cProfile.Profile(time.process_time)  # CPU time, not time spent waiting
            profiler.enable()
            for n in range(args.requests):
                post(n)
            profiler.disable()
            harness.print_profile(profiler, args)
        harness.purge_queue()
    finally:
        services.stop()
        harness.stop_sandbox(sandbox)


if __name__ == "__main__":
    main()
