"""A rate limiter shared by every process through Redis.

A token bucket per key (one per connector, one per tenant by default), taken from
atomically in one Lua script: a call gets a token from every bucket it belongs to, or from
none. The script reads the clock with Redis `TIME`, so the clocks of the worker machines
do not matter. A 429's Retry-After is stored as "paused until" on the buckets of that call,
and the script refuses tokens until then, for every process.

Kaizala counts "calls per minute"; a plain bucket of `calls` tokens refilled at
`calls/period` would let through a full bucket plus a period's refill (2x) in one window.
So each bucket holds `burst` tokens and refills at `(allowed - burst) / period`: any window of
`period` seconds (sliding or clock-aligned) then sees at most `allowed` grants.

`allowed` is `calls` less a safety margin (`margin`, a fraction of `calls`, at least one call):
the server counts arrivals, not our grants, and a call that waited on the network or the
connection pool arrives later than its grant, bunched with later ones. The margin is what
absorbs that (a stall of up to about `margin * period` seconds); it costs the same fraction of
the sustained rate.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis

from .errors import RateLimited

ACQUIRE_LUA = """
-- KEYS: one hash per bucket. ARGV: cost, then (burst, refill_ms_per_token) for each key.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local wait = 0
local levels = {}
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[2 * i])
  local per_token = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts', 'paused_until')
  local tokens = tonumber(state[1]) or burst
  local ts = tonumber(state[2]) or now
  local paused = tonumber(state[3]) or 0
  if now > ts then tokens = math.min(burst, tokens + (now - ts) / per_token) end
  levels[i] = tokens
  if paused > now then wait = math.max(wait, paused - now) end
  if tokens < cost then wait = math.max(wait, math.ceil((cost - tokens) * per_token)) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[2 * i])
  local per_token = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 'tokens', tostring(levels[i] - cost), 'ts', now)
  -- A full bucket and a missing key are the same state; keep a pause alive past its end.
  local ttl = math.ceil(burst * per_token) + 1000
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return 0
"""

PAUSE_LUA = """
-- KEYS: bucket hashes. ARGV: pause in ms. Keeps the later of an existing pause and this one.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause_until = now + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local current = tonumber(redis.call('HGET', key, 'paused_until')) or 0
  if pause_until > current then redis.call('HSET', key, 'paused_until', pause_until) end
  local ttl = pause_until - now + 60000
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return pause_until
"""


DEFAULT_MARGIN = 0.02


@dataclass(frozen=True)
class Limit:
    """The server's limit of `calls` per `period` seconds; the bucket grants at most `allowed` in any
    window of `period` (`calls` less the margin), `burst` of them back to back."""

    calls: int
    period: float
    burst: int | None = None  # default: a tenth of `calls`
    margin: float = DEFAULT_MARGIN  # the fraction of `calls` left unused (see the module docstring)

    def __post_init__(self):
        if self.calls < 1 or self.period <= 0:
            raise ValueError("a limit needs calls >= 1 and period > 0")
        # burst == calls would leave nothing to refill inside the window (one call per period if calls == 1).
        if self.burst is not None and not 1 <= self.burst <= max(1, self.calls - 1):
            raise ValueError("burst must be between 1 and calls - 1")
        if not 0 <= self.margin < 1:
            raise ValueError("margin is a fraction of calls: 0 <= margin < 1")

    @property
    def allowed(self) -> int:
        # round() first: 0.07 * 100 is 7.000000000000001, which must not reserve 8.
        return max(1, self.calls - math.ceil(round(self.calls * self.margin, 9)))

    @property
    def bucket_size(self) -> int:
        size = self.burst if self.burst is not None else max(1, self.calls // 10)
        # The margin comes out of `allowed`; the burst must still leave something to refill.
        return max(1, min(size, self.allowed - 1))

    @property
    def ms_per_token(self) -> float:
        return self.period * 1000 / max(1, self.allowed - self.bucket_size)


DEFAULT_LIMITS: Mapping[str, Limit] = {"connector": Limit(100, 60.0), "tenant": Limit(300, 60.0)}


class RateLimiter:
    """`acquire({"connector": app_id, "tenant": tenant_id})` before each call; shared via Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        limits: Mapping[str, Limit] = DEFAULT_LIMITS,
        max_wait: float = 30.0,
        prefix: str = "kaizala:ratelimit",
    ):
        self.redis = client
        self.limits = dict(limits)
        self.max_wait = max_wait
        self.prefix = prefix
        self._acquire = client.register_script(ACQUIRE_LUA)
        self._pause = client.register_script(PAUSE_LUA)

    @classmethod
    def from_url(cls, url: str, **kwargs) -> RateLimiter:
        return cls(redis.Redis.from_url(url), **kwargs)

    def _buckets(self, keys: Mapping[str, str]) -> list[tuple[str, Limit]]:
        buckets = []
        for kind, ident in sorted(keys.items()):
            if ident is None:
                continue
            if kind not in self.limits:
                raise ValueError(f"no limit configured for {kind!r} (known: {sorted(self.limits)})")
            buckets.append((f"{self.prefix}:{kind}:{ident}", self.limits[kind]))
        return buckets

    def try_acquire(self, keys: Mapping[str, str]) -> float:
        """Take one token from every bucket and return 0, or take none and return the seconds to wait."""
        buckets = self._buckets(keys)
        if not buckets:
            return 0.0
        args: list[float] = [1]
        for _, limit in buckets:
            args += [limit.bucket_size, limit.ms_per_token]
        wait_ms = self._acquire(keys=[key for key, _ in buckets], args=args)
        return int(wait_ms) / 1000

    def acquire(self, keys: Mapping[str, str], *, max_wait: float | None = None) -> None:
        """Wait for a token (at most `max_wait` seconds), else raise RateLimited with the wait it needs."""
        budget = self.max_wait if max_wait is None else max_wait
        deadline = time.monotonic() + budget
        while True:
            try:
                wait = self.try_acquire(keys)
            except redis.RedisError as exc:
                # Nothing was sent: the caller may try again later, as after any refusal to throttle.
                raise RateLimited(f"the shared rate limiter is unavailable ({type(exc).__name__})",
                                  retry_after=1.0, from_limiter=True) from exc
            if wait <= 0:
                return
            if wait > deadline - time.monotonic():
                raise RateLimited(f"local rate limit: next token in {wait:.3f}s", retry_after=wait, from_limiter=True)
            # A little jitter so processes woken for the same token do not retry in lockstep.
            time.sleep(wait + random.uniform(0, 0.005))

    def pause(self, keys: Mapping[str, str], seconds: float) -> None:
        """Refuse tokens on these buckets for `seconds` (Redis time), in every process."""
        buckets = self._buckets(keys)
        if buckets and seconds > 0:
            self._pause(keys=[key for key, _ in buckets], args=[int(seconds * 1000)])
