"""Benchmark of the Kaizala client against the sandbox: session reuse and the limiter's cost.

Not a test. Run: .venv/bin/python bench/bench_client.py [--duration 3] [--redis-url URL]

Starts the sandbox (rate limits off), onboards a user through the client, then measures
send-message calls per second
  1. with the pooled per-process session (keep-alive),
  2. with a new requests.Session per call (a new TCP connection each time),
  3. pooled, with the Redis limiter on (limits so high it never waits),
and the limiter's own cost per acquire (one Lua call on the same Redis).
Prints a table and writes bench/results/client-<timestamp>.json.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kaizala import AuthClient, KaizalaClient, Limit, RateLimiter  # noqa: E402
from tests.fixtures.sandbox import start_sandbox, stop_sandbox  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NO_WAIT = {"connector": Limit(10**9, 60.0), "tenant": Limit(10**9, 60.0)}


def onboard(base_url: str) -> tuple[str, str, str]:
    connectors = requests.get(f"{base_url}/_sandbox/connectors", timeout=10).json()["connectors"]
    demo = next(c for c in connectors if c["demo"])
    auth = AuthClient(base_url, application_id=demo["applicationId"], application_secret=demo["applicationSecret"])
    mobile = "+911234500001"
    auth.generate_pin(mobile)
    pins = requests.get(f"{base_url}/_sandbox/pins", params={"mobileNumber": mobile}, timeout=10).json()["pins"]
    token = auth.access_token(auth.login_with_pin(mobile, pins[-1]["pin"]).refresh_token)
    group = KaizalaClient(token.endpoint_url, token.access_token).create_group("Bench", "hi")
    return token.endpoint_url, token.access_token, group.group_id


def rate(send, duration: float) -> dict:
    """Calls per second of `send()` over `duration` seconds, with per-call latency percentiles."""
    for _ in range(20):  # warm-up: connection, imports, Lua script load
        send()
    latencies = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        start = time.perf_counter()
        send()
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    return {
        "calls": len(latencies),
        "calls_per_s": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
    }


def acquire_cost(limiter: RateLimiter, n: int = 5000) -> dict:
    keys = {"connector": "bench", "tenant": "bench"}
    for _ in range(100):
        limiter.acquire(keys)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        limiter.acquire(keys)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "n": n,
        "mean_us": round(statistics.fmean(samples) * 1e6, 1),
        "p50_us": round(samples[n // 2] * 1e6, 1),
        "p99_us": round(samples[int(n * 0.99)] * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()

    server = start_sandbox("--rate-limit", "off")
    try:
        endpoint, token, group_id = onboard(server.base_url)
        # Session reuse only saves TCP set-up when the server keeps connections open.
        probe = requests.post(
            f"{endpoint.rstrip('/')}/v1/groups/{group_id}/messages",
            json={"message": "probe"},
            headers={"accessToken": token},
            timeout=10,
        )
        keep_alive = probe.headers.get("Connection", "").lower() != "close"
        pooled = KaizalaClient(endpoint, token)

        def send_pooled():
            pooled.send_message(group_id, "bench")

        def send_fresh_session():
            with requests.Session() as session:
                KaizalaClient(endpoint, token, session=session).send_message(group_id, "bench")

        client = redis.Redis.from_url(args.redis_url)
        prefix = f"bench:kaizala:{uuid.uuid4().hex}"
        limiter = RateLimiter(client, limits=NO_WAIT, prefix=prefix)
        limited = KaizalaClient(
            endpoint, token, limiter=limiter, limiter_keys={"connector": "bench", "tenant": "bench"}
        )

        def send_limited():
            limited.send_message(group_id, "bench")

        figures = {
            "pooled_session": rate(send_pooled, args.duration),
            "new_session_per_call": rate(send_fresh_session, args.duration),
            "pooled_with_limiter": rate(send_limited, args.duration),
        }
        acquire = acquire_cost(limiter)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    finally:
        stop_sandbox(server)

    per_call_us = {name: 1e6 / f["calls_per_s"] for name, f in figures.items()}
    overhead_us = round(per_call_us["pooled_with_limiter"] - per_call_us["pooled_session"], 1)
    print(f"Kaizala client vs sandbox, send-message, {args.duration:g} s each, 1 thread, {os.cpu_count()} cores")
    print(f"{'variant':<24}{'calls':>8}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, f in figures.items():
        print(f"{name:<24}{f['calls']:>8}{f['calls_per_s']:>10}{f['p50_ms']:>9}{f['p99_ms']:>9}")
    print(f"server keeps connections alive: {keep_alive}")
    print(f"limiter overhead per call (with - without): {overhead_us} us")
    print(
        f"limiter acquire alone ({acquire['n']} calls): mean {acquire['mean_us']} us, "
        f"p50 {acquire['p50_us']} us, p99 {acquire['p99_us']} us"
    )

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"client-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "when": stamp,
                "duration_s": args.duration,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "server_keeps_alive": keep_alive,
                "send_message": figures,
                "limiter_overhead_per_call_us": overhead_us,
                "limiter_acquire": acquire,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
