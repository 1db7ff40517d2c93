"""Throttling: 100 calls/min per connector and 300/min per tenant, answered with 429 + Retry-After.

A sliding window (a log of call times per key): a call is refused when the previous
`limit` accepted calls all fall inside the last `windowSeconds`; Retry-After is the whole
number of seconds until the oldest of them leaves the window. Refused calls do not count.
"""

import math
from collections import deque

DEFAULTS = {"enabled": True, "windowSeconds": 60.0, "perConnector": 100, "perTenant": 300}


class RateLimiter:
    def __init__(self, enabled: bool = True, window_seconds: float = 60.0):
        self.defaults = {**DEFAULTS, "enabled": enabled, "windowSeconds": window_seconds}
        self.reset()

    def reset(self):
        self.settings = dict(self.defaults)
        self.hits = {}

    def configure(self, changes: dict) -> dict:
        for key in ("enabled",):
            if key in changes:
                self.settings[key] = bool(changes[key])
        for key, cast in (("windowSeconds", float), ("perConnector", int), ("perTenant", int)):
            if key in changes:
                value = cast(changes[key])
                if value <= 0:
                    raise ValueError(f"{key} must be positive")
                self.settings[key] = value
        self.hits = {}
        return dict(self.settings)

    def check(self, connector_id: str | None, tenant_id: str | None, now: float):
        """Count the call, or return (retry_after_seconds, description) if it must be refused."""
        if not self.settings["enabled"] or connector_id is None:
            return None
        window = self.settings["windowSeconds"]
        keys = (
            (("connector", connector_id), self.settings["perConnector"], "per connector"),
            (("tenant", tenant_id), self.settings["perTenant"], "per tenant"),
        )
        for key, limit, label in keys:
            log = self.hits.setdefault(key, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) >= limit:
                retry_after = max(1, math.ceil(log[len(log) - limit] + window - now))
                return retry_after, f"Rate limit exceeded: {limit} calls per {window:g} s {label}"
        for key, _, _ in keys:
            self.hits[key].append(now)
        return None
