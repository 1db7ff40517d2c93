"""Benchmark 4: access tokens of every phone user expire in the middle of a send run.

Not a test. Run: .venv/bin/python bench/bench_refresh.py [--users 50] [--per-user 20] [--concurrency 4]

Starts the sandbox (rate limit off), `--users` phone users over 5 connectors with one group each,
one worker (prefork, `--concurrency` children) and the beat, and `--users * --per-user` messages
due within 20 ms, interleaved over the users. When a quarter of them are sent, the sandbox clock
jumps 24 h + 10 min, so every access token the console holds is now expired (the console still
believes they are valid, so only the 401 -> refresh -> retry path can save the sends). Counts the
refresh calls the sandbox saw (`/v1/accessToken`; target: exactly one per phone user) and the
messages not sent (target: 0).
Writes bench/results/refresh-<timestamp>.json.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

import harness
from harness import HIGH_LIMITS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--per-user", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes (prefork children)")
    args = parser.parse_args()

    server = harness.start_sandbox("--rate-limit", "off")
    services = harness.Services().start(sandbox_url=server.base_url, extra_env=HIGH_LIMITS)
    harness.services = services
    total = args.users * args.per_user
    state = {"expired_at_sent": None}
    try:
        harness.reset_console_data()
        groups = harness.make_world(server.base_url, connectors=5, users=args.users, prefix="+9173000")
        harness.reset_messages()
        load_before = harness.load()

        def expire_when_a_quarter_is_sent(counts):
            if state["expired_at_sent"] is None and counts.get("sent", 0) >= total // 4:
                harness.sandbox_control(server.base_url, "POST", "clock", json={"advanceSeconds": 86400 + 600})
                state["expired_at_sent"] = counts.get("sent", 0)
                state["jump_time"] = harness.now()

        with harness.fleet(args.concurrency, HIGH_LIMITS, name="refresh"):
            since = harness.sandbox_control(server.base_url, "GET", "clock")["now"]
            # Due 1 ms apart per round, so the dispatcher's due_at order interleaves the users (with one
            # instant for all, the claim came back grouped by group and the first users were done early).
            base = harness.now()
            harness.create_messages(groups, [base + timedelta(milliseconds=i // args.users) for i in range(total)])
            counts = harness.wait_until_settled(total, timeout=300, on_tick=expire_when_a_quarter_is_sent)
        refreshes = harness.sandbox_calls(server.base_url, path="/v1/accessToken", since=since)
        unauthorized = harness.sandbox_calls(server.base_url, route="sendMessage", status=401, since=since)["count"]
        per_user: dict[str, int] = {}
        for call in refreshes["calls"]:
            per_user[call.get("mobileNumber") or "?"] = per_user.get(call.get("mobileNumber") or "?", 0) + 1
        # The console's own view: its call log per phone user, and who still had sends after the jump.
        from django.db.models import Count, Q

        from connectors.models import ApiCall

        logged = ApiCall.objects.filter(url__contains="accessToken").values("phone_user").annotate(n=Count("id"))
        users_with_401 = ApiCall.objects.filter(status=401).values("phone_user").distinct().count()
        console_refreshes = {"calls": sum(r["n"] for r in logged), "phoneUsers": len(logged),
                             "phoneUsersWith401": users_with_401,
                             "sendsAfterExpiry": ApiCall.objects.filter(Q(url__contains="/messages"), status=200,
                                                                        created_at__gte=state["jump_time"]).count()}
    finally:
        harness.stop_sandbox(server)
        services.stop()

    not_sent = total - counts.get("sent", 0)
    result = {"phoneUsers": args.users, "messages": total, "expiredAfterSent": state["expired_at_sent"],
              "refreshCalls": refreshes["count"], "refreshStatuses": sorted({c["status"] for c in refreshes["calls"]}),
              "usersRefreshedTwiceOrMore": sum(1 for n in per_user.values() if n > 1),
              "sendCalls401": unauthorized, "consoleCallLog": console_refreshes, "statuses": counts,
              "notSent": not_sent,
              "loadavgBefore": load_before, "loadavgAfter": harness.load()}
    print(f"\nToken refresh under load: {args.users} phone users, {total} messages, tokens expired after "
          f"{state['expired_at_sent']} sent ({'; '.join(services.notes)}); targets: refreshes = {args.users}, 0 failed")
    print(f"console call log: {console_refreshes}")
    print(harness.table(["phone users", "messages", "401s seen", "refresh calls", "users refreshed >1x",
                         "not sent", "statuses", "load"],
                        [[args.users, total, unauthorized, refreshes["count"], result["usersRefreshedTwiceOrMore"],
                          not_sent, counts, load_before[0]]]))
    harness.write_result("refresh", {"benchmark": "token refresh under load", "machine": harness.machine(),
                                     "services": services.notes, "workerProcesses": args.concurrency, **result})


if __name__ == "__main__":
    main()
