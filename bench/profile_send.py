"""Profile the send path in-process: cProfile + query count of `messages_send_run` (chunks) for N queued messages.

Not a test. Run: .venv/bin/python bench/profile_send.py [--messages 300]
Same world as bench_throughput (20 connectors / phone users / groups, sandbox rate limit off, the
console's limiter on with high limits). Prints queries per send, ms per send (wall clock, and CPU of this
process and of its PostgreSQL backend, which depend little on other load on the machine) and the top
functions (profiled by wall clock; `--clock cpu` uses time.process_time, whose own cost per call inflates
functions called often). Measure a change by the CPU figures of a run with `--top 0` (no profiler).
"""

import argparse
import cProfile
import time

import harness
from harness import HIGH_LIMITS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--chunk", type=int, default=10, help="messages per messages_send_run call")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key: cumulative, tottime, ...")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="wall", help="the profiler's timer")
    parser.add_argument("--callers", default="", help="also print the callers of functions matching this")
    parser.add_argument("--callees", default="", help="also print what functions matching this call")
    args = parser.parse_args()
    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services().start(sandbox_url=server.base_url, extra_env=HIGH_LIMITS)
    try:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from messaging.models import Message
        from messaging.services import message_send_run, messages_send_run

        harness.reset_console_data()
        groups = harness.make_world(server.base_url, connectors=20, users=20)
        harness.create_messages(groups, [harness.now()] * args.messages)
        ids = list(Message.objects.values_list("pk", flat=True))
        Message.objects.update(status=Message.Status.QUEUED)
        for pk in ids[:20]:  # warm-up: connections, Lua scripts, imports
            message_send_run(pk)
        rest = ids[20:]
        profiler = cProfile.Profile(time.process_time) if args.clock == "cpu" else cProfile.Profile()
        backend = connection.cursor().connection.info.backend_pid if connection.vendor == "postgresql" else None
        with CaptureQueriesContext(connection) as queries:
            pg_before = harness._proc_cpu_seconds(backend) if backend else None
            cpu_before = time.process_time()
            started = time.perf_counter()
            if args.top:  # --top 0: time only, without the profiler's overhead
                profiler.enable()
            for start in range(0, len(rest), args.chunk):  # as the send task does, SEND_TASK_CHUNK at a time
                messages_send_run(rest[start:start + args.chunk])
            profiler.disable()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            pg = harness._proc_cpu_seconds(backend) - pg_before if backend else None
        print(f"{len(rest)} sends, chunks of {args.chunk}: {elapsed / len(rest) * 1000:.2f} ms each (wall), "
              f"CPU {cpu / len(rest) * 1000:.2f} ms here"
              + (f" and {pg / len(rest) * 1000:.2f} ms in PostgreSQL" if pg is not None else "")
              + f"{' (with the profiler)' if args.top else ''}, {len(queries) / len(rest):.1f} SQL queries each, "
              f"statuses {harness.status_counts()}, load {harness.load()}")
        print("queries of the first chunk:")
        per = min(len(queries) * args.chunk // len(rest), 25)
        for q in queries.captured_queries[:per]:
            print("   ", q["sql"][:160])
        if args.top:
            harness.print_profile(profiler, args)
    finally:
        harness.stop_sandbox(server)
        services.stop()


if __name__ == "__main__":
    main()
