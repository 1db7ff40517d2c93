"""With the shared limiter on, four processes stay under the sandbox's rate limit: no 429 at all."""

import multiprocessing
import time

import pytest
import redis

from kaizala import KaizalaClient, Limit, RateLimited, RateLimiter

from .conftest import REDIS_URL
from .sandbox_helpers import FAST, onboard

WINDOW = 2.0
PER_CONNECTOR = 6
# The limiter has the server's limits; its margin (a call of six here) absorbs the milliseconds
# between a grant and the call's arrival at the sandbox, so they never tip a window over.
LIMITS = {
    "connector": Limit(calls=PER_CONNECTOR, period=WINDOW, burst=2, margin=0.1),
    "tenant": Limit(calls=10, period=WINDOW, burst=3, margin=0.1),
}


def _send_until(endpoint, token, group_id, prefix, connector, until, out):
    limiter = RateLimiter(redis.Redis.from_url(REDIS_URL), limits=LIMITS, prefix=prefix, max_wait=10)
    client = KaizalaClient(
        endpoint, token, limiter=limiter, limiter_keys={"connector": connector, "tenant": "t1"}, timeouts=FAST
    )
    sent = throttled = 0
    while time.time() < until:
        try:
            client.send_message(group_id, "tick")
            sent += 1
        except RateLimited:
            throttled += 1
    out.put((sent, throttled))


def test_four_processes_with_the_limiter_get_no_429(sandbox, redis_client, key_prefix):
    user = onboard(sandbox, "+911100000001")
    group_id = user.client.create_group("Ops", "Welcome").group_id
    sandbox.set_limits(enabled=True, windowSeconds=WINDOW, perConnector=PER_CONNECTOR, perTenant=50)
    connector = sandbox.demo_connector["applicationId"]

    # Control: without the limiter the sandbox does throttle this burst.
    with pytest.raises(RateLimited) as caught:
        for _ in range(PER_CONNECTOR + 1):
            user.client.send_message(group_id, "burst")
    assert caught.value.from_limiter is False and caught.value.retry_after > 0
    time.sleep(caught.value.retry_after + 0.1)
    start_id = max(c["id"] for c in sandbox.calls())

    # spawn, not fork: a child forked from a test process that runs threads can inherit a held lock.
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    until = time.time() + 6.0
    args = (user.token.endpoint_url, user.token.access_token, group_id, key_prefix, connector, until, out)
    workers = [context.Process(target=_send_until, args=args) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=5)

    calls = sandbox.calls(afterId=start_id)
    assert [c for c in calls if c["status"] == 429] == []
    assert all(throttled == 0 for _, throttled in results)
    sent = sum(s for s, _ in results)
    assert sent == len([c for c in calls if c["status"] == 200])
    # ~2 + 3 per 2 s over 4.5 s: the limiter lets the allowed rate through, not a trickle.
    assert sent >= 8
