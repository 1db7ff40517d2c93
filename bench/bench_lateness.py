"""Benchmark 3: scheduling lateness (sent_at - scheduled_for) for a burst and for a spread schedule.

Not a test. Run: .venv/bin/python bench/bench_lateness.py [--messages 500] [--spread 60] [--concurrency 2]
                 [--modes dispatcher,tick] [--tick 0.5]

Starts the sandbox (rate limit off), 20 connectors / phone users / groups, one worker (prefork,
`--concurrency` children) and the one beat (the sweepers), then per mode:
  dispatcher  `manage.py dispatcher` (messaging/dispatcher.py): sleeps until the next due row or a wake;
  tick        the way before it: no dispatcher process; the dispatch task is published every `--tick`
              seconds (from this process, as the beat's "dispatch" entry did) and run by the worker.
Two cases per mode, one after the other: `--messages` messages scheduled for the same instant (5 s ahead),
then `--messages` spread evenly over `--spread` seconds. The console's limiter runs with high limits.
Prints the load average and the dispatcher's CPU seconds with each case.
Writes bench/results/lateness-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import threading
from contextlib import contextmanager, nullcontext
from datetime import timedelta

import harness
from harness import HIGH_LIMITS


def lateness(run_started) -> dict:
    from messaging.models import Message

    rows = Message.objects.filter(status=Message.Status.SENT).values_list("sent_at", "scheduled_for")
    late = [(sent - due).total_seconds() for sent, due in rows]
    return {"sent": len(late), "p50": round(harness.percentile(late, 50), 3),
            "p99": round(harness.percentile(late, 99), 3), "max": round(max(late), 3) if late else None}


@contextmanager
def ticking(seconds: float):
    """Publish the dispatch task every `seconds`, as the beat's entry did (expiring after 5 s, as it did)."""
    from messaging.tasks import dispatch

    stop = threading.Event()

    def tick():
        while not stop.wait(seconds):
            dispatch.apply_async(expires=5)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def case(groups, mode: str, name: str, due_times: list, concurrency: int, tick: float) -> dict:
    harness.reset_messages()
    load_before = harness.load()
    with harness.fleet(concurrency, HIGH_LIMITS, name="late", dispatcher=mode == "dispatcher") as (_, _, proc), \
            (ticking(tick) if mode == "tick" else nullcontext()):
        cpu_before = harness.cpu_seconds(proc.pid) if proc else None
        started = harness.now()
        harness.create_messages(groups, due_times)
        span = (max(due_times) - started).total_seconds()
        counts = harness.wait_until_settled(len(due_times), timeout=span + 120)
        cpu = round(harness.cpu_seconds(proc.pid) - cpu_before, 2) if proc else None
    return {"mode": mode, "case": name, "messages": len(due_times), "statuses": counts, **lateness(started),
            "dispatcherCpuSeconds": cpu, "loadavgBefore": load_before, "loadavgAfter": harness.load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the spread case covers")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork children)")
    parser.add_argument("--modes", default="dispatcher,tick", help="dispatcher, tick, or both (comma-separated)")
    parser.add_argument("--tick", type=float, default=0.5, help="seconds between dispatch tasks in the tick mode")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"dispatcher", "tick"}:
        raise SystemExit("--modes: dispatcher and/or tick")

    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services().start(sandbox_url=server.base_url, extra_env=HIGH_LIMITS)
    harness.services = services
    try:
        harness.reset_console_data()
        groups = harness.make_world(server.base_url, connectors=20, users=20, prefix="+9172000")
        runs = []
        for mode in modes:
            start = harness.now() + timedelta(seconds=5)
            print(f"{mode}: {args.messages} messages at one instant ...", flush=True)
            runs.append(case(groups, mode, "same instant", [start] * args.messages, args.concurrency, args.tick))
            start = harness.now() + timedelta(seconds=5)
            step = args.spread / args.messages
            print(f"{mode}: {args.messages} messages over {args.spread:g} s ...", flush=True)
            runs.append(case(groups, mode, f"spread over {args.spread:g} s",
                             [start + timedelta(seconds=i * step) for i in range(args.messages)], args.concurrency,
                             args.tick))
    finally:
        harness.stop_sandbox(server)
        services.stop()

    print(f"\nScheduling lateness (sent_at - scheduled_for), seconds; tick mode every {args.tick:g} s; "
          f"{args.concurrency} worker processes ({'; '.join(services.notes)});"
          " target p99 <= 0.25 s for the spread case")
    print(harness.table(["mode", "case", "messages", "sent", "p50 s", "p99 s", "max s", "dispatcher CPU s", "load"],
                        [[r["mode"], r["case"], r["messages"], r["sent"], r["p50"], r["p99"], r["max"],
                          r["dispatcherCpuSeconds"], r["loadavgBefore"][0]] for r in runs]))
    harness.write_result("lateness", {
        "benchmark": "scheduling lateness", "machine": harness.machine(), "services": services.notes,
        "modes": modes, "tickSeconds": args.tick, "workerProcesses": args.concurrency, "runs": runs,
    })


if __name__ == "__main__":
    main()
