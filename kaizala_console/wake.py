"""Telling the dispatcher (messaging/dispatcher.py) that a row it does not know of may be due sooner than
it planned to wake: a Redis PUBLISH, sent after the commit that made the row visible.

A wake is only a hint: the dispatcher re-reads the database at least every DISPATCHER_RECHECK_SECONDS, so
a wake lost to a Redis outage (or sent while no dispatcher listens) delays a message, never loses it. A
failure here is therefore logged and swallowed: it must never undo or fail the write it follows.
Here, not in messaging, so that an app below messaging (a connector reactivated) can wake it too.
"""

import logging

import redis
from django.db import transaction

from kaizala_console.redis_client import redis_client

log = logging.getLogger(__name__)
WAKE_CHANNEL = "kaizala:dispatcher:wake"


def dispatcher_wake() -> None:
    try:
        redis_client().publish(WAKE_CHANNEL, b"1")
    except redis.RedisError:
        log.warning("could not wake the dispatcher; it finds the new work at its next re-check", exc_info=True)


def dispatcher_wake_on_commit() -> None:
    """Wake the dispatcher once the current transaction commits (at once outside one)."""
    transaction.on_commit(dispatcher_wake)
