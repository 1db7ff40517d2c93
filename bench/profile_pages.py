"""Where a page's server time goes: cProfile over in-process requests, and EXPLAIN ANALYZE of its queries.

Not a test. Run after bench/bench_pages.py has seeded its database:
    .venv/bin/python bench/profile_pages.py /messages/ [/ ...] [--repeat 30] [--explain] [--top 25]

Runs as in production (DEBUG off, so no query log and cached templates), logged in as the seeded admin.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import harness
from bench_pages import PAGES_DB, logged_in_client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--top", type=int, default=25, help="0: no profiler, only the CPU and wall time")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every query of one request")
    args = parser.parse_args()
    harness.Services(db=PAGES_DB).start(sandbox_url="http://127.0.0.1:8700", require_postgres=True, extra_env={
        **harness.production_env(), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false"})
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off serves the hashed files
    client = logged_in_client()
    for url in args.urls:
        for _ in range(3):
            assert client.get(url, secure=True).status_code == 200, url
        captured = []

        def capture(execute, sql, params, many, context, captured=captured):
            captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            body = client.get(url, secure=True).content
        cpu, wall = time.process_time(), time.perf_counter()
        profile = cProfile.Profile()
        if args.top:
            profile.enable()
        for _ in range(args.repeat):
            client.get(url, secure=True)
        profile.disable()
        cpu, wall = (time.process_time() - cpu) / args.repeat * 1000, (time.perf_counter() - wall) / args.repeat * 1000
        print(f"\n=== {url}: {len(captured)} queries, {len(body):,} bytes, {cpu:.1f} ms CPU / {wall:.1f} ms wall "
              f"per request{' under the profiler' if args.top else ''} (load {harness.load()})")
        if args.top:
            stats = pstats.Stats(profile).strip_dirs()
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
        if args.explain:
            with connection.cursor() as cursor:
                for sql, params in captured:
                    cursor.execute("EXPLAIN ANALYZE " + sql, params)
                    plan = "\n    ".join(row[0] for row in cursor.fetchall())
                    print(f"--- {sql[:400]} {str(params)[:200]}\n    {plan}")


if __name__ == "__main__":
    main()
