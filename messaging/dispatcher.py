"""The dispatcher: one long-running process (`manage.py dispatcher`) that claims due messages and fires due
recurring schedules when they are due, instead of a beat tick that polls.

What it keeps:
- exactly one active dispatcher: a lease in Redis (SET NX PX with a token; renewed by its holder at every
  pass, at least every DISPATCHER_LEASE_SECONDS / 3). Others stand by and try to take the lease every
  DISPATCHER_STANDBY_POLL seconds, so one takes over within about a lease after the active one dies (at
  once when it stops cleanly and gives the lease back). Redis, not a database lock, so that it works the
  same on SQLite and PostgreSQL. Two active for a moment (a lease lost to a stall) is safe: every claim is
  a compare-and-set with SKIP LOCKED; the lease only keeps the work in one place.
- it sleeps until the earliest due row (messaging.selectors.dispatch_next_due), or until a service
  publishes a wake after committing a row that may be due sooner (messaging/wake.py), and never longer
  than DISPATCHER_RECHECK_SECONDS: a lost wake delays a message by at most that, never loses it. A wake
  that follows another within DISPATCHER_GATHER_SECONDS starts its pass that much later, so that a stream
  of wakes makes one claim of many messages.
- a failing database or Redis does not end it: it logs, waits a moment and goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone

from kaizala_console.health import DISPATCHER, redis_key
from kaizala_console.redis_client import redis_client
from kaizala_console.wake import WAKE_CHANNEL
from messaging import selectors, services

log = logging.getLogger(__name__)
LEASE_KEY = "kaizala:dispatcher:lease"
# The lease is renewed, or given back, only by the process whose token it holds.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def lease_holder() -> str | None:
    """The name of the active dispatcher (`<name>:<random>`), or None."""
    value = redis_client().get(LEASE_KEY)
    return value.decode() if value else None


class Dispatcher:
    def __init__(self, *, name: str | None = None):
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.token = f"{self.name}:{uuid.uuid4().hex[:8]}"
        self.lease_ms = int(settings.DISPATCHER_LEASE_SECONDS * 1000)
        self.active = False
        self.stopping = threading.Event()
        self._pubsub = None
        self._heartbeat_at = 0.0
        self._woken_at = float("-inf")  # when the last wake was seen

    # --- the lease ------------------------------------------------------------------------------------

    def _hold_lease(self) -> bool:
        client = redis_client()
        # Renewed whenever it still holds our token, even if we had stopped counting on it (after an error).
        if client.eval(_RENEW, 1, LEASE_KEY, self.token, self.lease_ms):
            if not self.active:
                self.active = True
                log.info("dispatcher %s is active again (lease %s)", self.name, self.token)
            self._heartbeat(client)
            return True
        if self.active:
            log.warning("dispatcher %s lost its lease (a stall longer than %s s, or Redis lost it)",
                        self.name, settings.DISPATCHER_LEASE_SECONDS)
        was_active, self.active = self.active, bool(client.set(LEASE_KEY, self.token, nx=True, px=self.lease_ms))
        if self.active and not was_active:
            log.info("dispatcher %s is active (lease %s)", self.name, self.token)
            self._heartbeat(client)
        return self.active

    def _heartbeat(self, client) -> None:
        """The pages' copy of "a dispatcher holds the lease" (kaizala_console/health.py), at most once a second:
        a backlog's passes come back to back."""
        if time.monotonic() - self._heartbeat_at >= 1.0:
            client.set(redis_key(DISPATCHER), time.time())
            self._heartbeat_at = time.monotonic()

    def _give_back_lease(self) -> None:
        if self.active:
            with contextlib.suppress(redis.RedisError):  # else it expires by itself
                redis_client().eval(_RELEASE, 1, LEASE_KEY, self.token)
            self.active = False

    # --- waiting for work -----------------------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less if woken; then drop the wakes that came meanwhile (one pass covers them)."""
        if seconds <= 0:
            return
        # The wait is timed here (select on the socket), not by Redis, whose blocking timeouts are only
        # as fine as its cron (100 ms at the default hz).
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            # In slices, so that a stop (SIGTERM sets `stopping`) is seen within a quarter second.
            if left <= 0:
                break
            if self._pubsub.get_message(timeout=min(left, 0.25)) is not None:
                woken, gather = time.monotonic(), settings.DISPATCHER_GATHER_SECONDS
                if woken - self._woken_at < gather:
                    # Wakes in a stream (many "send now", the API's clients): gather the next moment's into
                    # this pass, else each claims and enqueues a single message. A lone wake goes at once.
                    self.stopping.wait(max(0.0, min(gather, deadline - woken)))
                self._woken_at = woken
                break
        while self._pubsub.get_message(timeout=0) is not None:
            self._woken_at = time.monotonic()

    def _drop_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                self._pubsub.close()
            self._pubsub = None
        self._heartbeat_at = 0.0

    # --- the loop -------------------------------------------------------------------------------------

    def run_pass(self) -> float:
        """Fire and claim what is due; return how long to sleep before the next pass."""
        close_old_connections()  # a long-running process: honour CONN_MAX_AGE and drop broken connections
        now = timezone.now()
        claimed = services.dispatch(now)
        if claimed >= settings.DISPATCH_BATCH * max(1, settings.DISPATCH_MAX_ROUNDS):
            return 0.0  # a backlog: claim the next batches at once
        upcoming = selectors.dispatch_next_due(after=now)
        cap = min(settings.DISPATCHER_RECHECK_SECONDS, settings.DISPATCHER_LEASE_SECONDS / 3)
        if upcoming is None:
            return cap
        return max(0.0, min(cap, (upcoming - timezone.now()).total_seconds()))

    def run(self) -> None:
        log.info("dispatcher %s started", self.name)
        try:
            while not self.stopping.is_set():
                try:
                    if not self._hold_lease():
                        self._drop_pubsub()  # a standby needs no wakes
                        self.stopping.wait(settings.DISPATCHER_STANDBY_POLL)
                        continue
                    if self._pubsub is None:  # subscribed before the pass reads: no wake falls in between
                        self._pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
                        self._pubsub.subscribe(WAKE_CHANNEL)
                    self._wait(self.run_pass())
                except redis.RedisError:
                    log.warning("dispatcher %s: Redis unavailable; trying again", self.name, exc_info=True)
                    self._drop_pubsub()
                    self.active = False  # its lease is uncertain: take it again before the next pass
                    self.stopping.wait(1.0)
                except (OperationalError, InterfaceError):
                    log.warning("dispatcher %s: database unavailable; trying again", self.name, exc_info=True)
                    if not connection.in_atomic_block:
                        connection.close()
                    self.stopping.wait(1.0)
                except Exception:  # a bug in one pass must not stop the dispatching
                    log.exception("dispatcher %s: a pass failed; trying again", self.name)
                    self.stopping.wait(1.0)
        finally:
            self._drop_pubsub()
            self._give_back_lease()
            log.info("dispatcher %s stopped", self.name)
