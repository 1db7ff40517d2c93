"""Benchmark 2: how much of Kaizala's allowed rate the console uses on one connector, and its 429s.

Not a test. Run: .venv/bin/python bench/bench_ratelimit.py [--calls 100] [--window 10] [--windows 5]

Starts the sandbox with its limit on and the window shortened (100 calls per 10 s per connector by
default, 300 per tenant), one connector with one phone user and one group, then a backlog of
`--windows` windows' worth of messages all due at once, sent by one worker (prefork, 2 children)
and the beat. Two runs:
  limiter on  - the console's shared Redis limiter set to the same limit (KAIZALA_CONNECTOR_CALLS_PER_MINUTE
                = calls, KAIZALA_RATE_LIMIT_PERIOD = window seconds);
  limiter off - reference: KAIZALA_RATE_LIMIT_ENABLED=false, only the sandbox's 429 + Retry-After.
Achieved rate = messages sent / (last sent_at - due time); allowed rate = calls / window.
Writes bench/results/ratelimit-<timestamp>.json.
"""

from __future__ import annotations

import argparse

import harness


def run(server_url: str, group, *, calls: int, window: float, backlog: int, limiter_on: bool, concurrency: int) -> dict:
    from django.db.models import Max

    from messaging.models import Message

    harness.reset_messages()
    harness.services.flush_redis()
    env = {"KAIZALA_RATE_LIMIT_ENABLED": "true" if limiter_on else "false",
           "KAIZALA_CONNECTOR_CALLS_PER_MINUTE": str(calls), "KAIZALA_TENANT_CALLS_PER_MINUTE": str(calls * 3),
           "KAIZALA_RATE_LIMIT_PERIOD": str(window)}
    load_before = harness.load()
    with harness.fleet(concurrency, env, name="rl"):
        # Changing the limits clears the sandbox's windows: the run starts with a full allowance.
        harness.sandbox_control(server_url, "POST", "limits", json={
            "enabled": True, "windowSeconds": window, "perConnector": calls, "perTenant": calls * 3})
        since = harness.sandbox_control(server_url, "GET", "clock")["now"]
        due = harness.now()
        harness.create_messages([group], [due] * backlog)
        counts = harness.wait_until_settled(backlog, timeout=backlog / (calls / window) * 4 + 60)
    calls_seen = harness.sandbox_calls(server_url, route="sendMessage", since=since)
    refused = sum(1 for c in calls_seen["calls"] if c["status"] == 429)
    auth = harness.sandbox_calls(server_url, path="/v1/accessToken", since=since)["count"]
    last = Message.objects.aggregate(last=Max("sent_at"))["last"]
    seconds = (last - due).total_seconds()
    sent = counts.get("sent", 0)
    allowed = calls / window
    return {"limiter": "on" if limiter_on else "off", "backlog": backlog, "sent": sent, "statuses": counts,
            "seconds": round(seconds, 2), "perSec": round(sent / seconds, 2), "allowedPerSec": allowed,
            "fractionOfAllowed": round(sent / seconds / allowed, 3), "sendCalls": calls_seen["count"],
            "429s": refused, "authCalls": auth, "loadavgBefore": load_before, "loadavgAfter": harness.load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls allowed per window per connector")
    parser.add_argument("--window", type=float, default=10.0, help="window seconds (sandbox and console)")
    parser.add_argument("--windows", type=int, default=5, help="backlog, in windows' worth of calls")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork children)")
    parser.add_argument("--only", choices=["on", "off"], help="run only the limiter-on or -off case")
    args = parser.parse_args()

    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services().start(sandbox_url=server.base_url)
    harness.services = services
    try:
        harness.reset_console_data()
        (group,) = harness.make_world(server.base_url, connectors=1, users=1, prefix="+9171000")
        backlog = args.calls * args.windows
        cases = [True, False] if not args.only else [args.only == "on"]
        runs = []
        for on in cases:
            print(f"limiter {'on' if on else 'off'}: {backlog} messages at {args.calls}/{args.window:g} s ...",
                  flush=True)
            runs.append(run(server.base_url, group, calls=args.calls, window=args.window, backlog=backlog,
                            limiter_on=on, concurrency=args.concurrency))
    finally:
        harness.stop_sandbox(server)
        services.stop()

    print(f"\nRate-limit use, one connector, sandbox limit {args.calls} calls / {args.window:g} s, backlog {backlog} "
          f"({'; '.join(services.notes)}); target >= 95 % of allowed, 0 x 429")
    print(harness.table(
        ["console limiter", "sent", "seconds", "msg/s", "allowed/s", "of allowed", "send calls", "429s", "load"],
        [[r["limiter"], r["sent"], r["seconds"], r["perSec"], r["allowedPerSec"],
          f"{r['fractionOfAllowed'] * 100:.1f} %", r["sendCalls"], r["429s"], r["loadavgBefore"][0]] for r in runs]))
    harness.write_result("ratelimit", {
        "benchmark": "rate-limit use", "machine": harness.machine(), "services": services.notes,
        "sandboxLimit": {"perConnector": args.calls, "windowSeconds": args.window},
        "workerProcesses": args.concurrency, "dispatch": "celery beat", "runs": runs,
    })


if __name__ == "__main__":
    main()
