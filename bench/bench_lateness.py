"""Benchmark 3: scheduling lateness (sent_at - scheduled_for) for a burst and for a spread schedule.

Not a test. Run: .venv/bin/python bench/bench_lateness.py [--messages 500] [--spread 60] [--concurrency 2]

Starts the sandbox (rate limit off), 20 connectors / phone users / groups, one worker (prefork,
`--concurrency` children) and the one beat (dispatcher tick DISPATCH_TICK, default 0.5 s). Two cases,
one after the other: `--messages` messages scheduled for the same instant (5 s ahead), then
`--messages` spread evenly over `--spread` seconds. The console's limiter runs with high limits.
Writes bench/results/lateness-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta

import harness
from harness import HIGH_LIMITS


def lateness(run_started) -> dict:
    from messaging.models import Message

    rows = Message.objects.filter(status=Message.Status.SENT).values_list("sent_at", "scheduled_for")
    late = [(sent - due).total_seconds() for sent, due in rows]
    return {"sent": len(late), "p50": round(harness.percentile(late, 50), 3),
            "p99": round(harness.percentile(late, 99), 3), "max": round(max(late), 3) if late else None}


def case(groups, name: str, due_times: list, concurrency: int) -> dict:
    harness.reset_messages()
    load_before = harness.load()
    with harness.fleet(concurrency, HIGH_LIMITS, name="late"):
        started = harness.now()
        harness.create_messages(groups, due_times)
        span = (max(due_times) - started).total_seconds()
        counts = harness.wait_until_settled(len(due_times), timeout=span + 120)
    return {"case": name, "messages": len(due_times), "statuses": counts, **lateness(started),
            "loadavgBefore": load_before, "loadavgAfter": harness.load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the spread case covers")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork children)")
    args = parser.parse_args()

    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services().start(sandbox_url=server.base_url, extra_env=HIGH_LIMITS)
    harness.services = services
    try:
        harness.reset_console_data()
        groups = harness.make_world(server.base_url, connectors=20, users=20, prefix="+9172000")
        runs = []
        start = harness.now() + timedelta(seconds=5)
        print(f"{args.messages} messages at one instant ...", flush=True)
        runs.append(case(groups, "same instant", [start] * args.messages, args.concurrency))
        start = harness.now() + timedelta(seconds=5)
        step = args.spread / args.messages
        print(f"{args.messages} messages over {args.spread:g} s ...", flush=True)
        runs.append(case(groups, f"spread over {args.spread:g} s",
                         [start + timedelta(seconds=i * step) for i in range(args.messages)], args.concurrency))
    finally:
        harness.stop_sandbox(server)
        services.stop()

    tick = os.environ.get("DISPATCH_TICK", "0.5 (default)")
    print(f"\nScheduling lateness (sent_at - scheduled_for), seconds; DISPATCH_TICK {tick}, "
          f"{args.concurrency} worker processes ({'; '.join(services.notes)}); target p99 <= 1 s for the spread case")
    print(harness.table(["case", "messages", "sent", "p50 s", "p99 s", "max s", "load"],
                        [[r["case"], r["messages"], r["sent"], r["p50"], r["p99"], r["max"], r["loadavgBefore"][0]]
                         for r in runs]))
    harness.write_result("lateness", {
        "benchmark": "scheduling lateness", "machine": harness.machine(), "services": services.notes,
        "dispatchTick": tick, "workerProcesses": args.concurrency, "runs": runs,
    })


if __name__ == "__main__":
    main()
