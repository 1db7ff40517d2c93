"""Fault injection rules for API calls (never for /_sandbox/ calls).

A rule matches on method and path; `path` is a shell glob (fnmatch: `*` also crosses `/`)
and `pathRegex` a regular expression (re.search). Both are tried against the full path
(`/kms/v1/groups/g@1/messages`) and the path without the endpoint prefix (`/v1/groups/...`).
A rule fires for the next `count` matching calls (default: until cleared), each time with
probability `fraction` (default 1) drawn from a `random.Random(seed)`.
"""

import fnmatch
import random
import re
import uuid

MALFORMED_KINDS = ("text", "truncated", "html")


class FaultRule:
    def __init__(self, spec: dict, default_timeout: float):
        unknown = set(spec) - {"method", "path", "pathRegex", "status", "retryAfter", "delay", "timeout", "drop",
                               "malformed", "count", "fraction", "seed"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        self.id = str(uuid.uuid4())
        self.method = str(spec.get("method") or "*").upper()
        self.path = spec.get("path")
        self.regex = re.compile(spec["pathRegex"]) if spec.get("pathRegex") else None
        self.status = int(spec["status"]) if spec.get("status") is not None else None
        self.retry_after = int(spec.get("retryAfter", 1))
        self.delay = float(spec.get("delay") or 0)
        timeout = spec.get("timeout")
        self.timeout = default_timeout if timeout is True else float(timeout or 0)
        self.drop = bool(spec.get("drop"))
        malformed = spec.get("malformed")
        self.malformed = "truncated" if malformed is True else malformed
        if self.malformed and self.malformed not in MALFORMED_KINDS:
            raise ValueError(f"malformed must be one of {', '.join(MALFORMED_KINDS)}")
        effects = [self.status is not None, bool(self.timeout), self.drop, bool(self.malformed)]
        if sum(effects) > 1 or (not any(effects) and not self.delay):
            raise ValueError("give exactly one of status, timeout, drop, malformed (delay may accompany any)")
        self.remaining = int(spec["count"]) if spec.get("count") is not None else None
        self.fraction = float(spec.get("fraction", 1.0))
        self.seed = spec.get("seed")
        self.rng = random.Random(self.seed)
        self.hits = 0

    def matches(self, method: str, paths: tuple[str, ...]) -> bool:
        if self.method not in ("*", method):
            return False
        if self.path and not any(fnmatch.fnmatchcase(p, self.path) for p in paths):
            return False
        return not (self.regex and not any(self.regex.search(p) for p in paths))

    def view(self) -> dict:
        return {"id": self.id, "method": self.method, "path": self.path,
                "pathRegex": self.regex.pattern if self.regex else None, "status": self.status,
                "retryAfter": self.retry_after, "delay": self.delay, "timeout": self.timeout, "drop": self.drop,
                "malformed": self.malformed, "remaining": self.remaining, "fraction": self.fraction,
                "seed": self.seed, "hits": self.hits}


class Faults:
    def __init__(self):
        self.rules: list[FaultRule] = []

    def add(self, spec: dict, default_timeout: float) -> FaultRule:
        rule = FaultRule(spec, default_timeout)
        self.rules.append(rule)
        return rule

    def clear(self):
        self.rules = []

    def take(self, method: str, paths: tuple[str, ...]) -> FaultRule | None:
        """The first rule that fires for this call (consuming one of its `count`), or None."""
        for rule in self.rules:
            if not rule.matches(method, paths):
                continue
            if rule.fraction < 1 and rule.rng.random() >= rule.fraction:
                continue
            rule.hits += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
            return rule
        return None
