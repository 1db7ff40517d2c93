"""Fault runs: real worker and beat processes, a private real Redis, the sandbox over HTTP, 1,000
messages with unique texts per run. After each run, at the sandbox and in the database: every message
is final (sent, failed, unconfirmed, cancelled), no text arrived twice, every `sent` message arrived.

The figures of each run are appended to test-artifacts/reliability-figures.md.
"""

import sqlite3
import threading
import time

import psycopg
import pytest
from django.db import connection

from connectors.models import PhoneUser
from messaging.models import Message
from tests.reliability.conftest import onboard
from tests.reliability.harness import all_final, audit, create_batch, kill_group, status_counts, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

BATCH = 1000
FINISH = 150  # seconds a run may take to settle once the fault is over


def sent_count(texts) -> int:
    return Message.objects.filter(text__in=texts, status=Message.Status.SENT).count()


def test_worker_killed_with_sigkill_mid_batch_then_restarted(sandbox, groups, fleet):
    texts = create_batch(groups, BATCH, "sigkill")
    started = time.monotonic()
    fleet.start_beat()
    worker = fleet.start_worker("w-sigkill", concurrency=4)
    wait_until(lambda: sent_count(texts) >= BATCH * 0.3, 90, "30 % of the batch to be sent")
    kill_group(worker)
    in_flight = status_counts(texts)
    assert sent_count(texts) < BATCH, "the batch finished before the kill: the test proves nothing"
    time.sleep(1)
    fleet.start_worker("w-sigkill-2", concurrency=4)
    wait_until(lambda: all_final(texts), FINISH, "every message to be final after the restart")
    result = audit("worker SIGKILL mid-batch, restarted", sandbox, groups, texts, started)
    print(f"at the kill: {dict(in_flight)}")
    result.assert_clean()
    # Only messages the killed worker was holding may be unconfirmed: the pool had 4 processes.
    assert result.statuses.get("unconfirmed", 0) <= 4 * 2


def test_redis_restarted_and_flushed_mid_batch(sandbox, groups, fleet):
    texts = create_batch(groups, BATCH, "redis")
    started = time.monotonic()
    fleet.start_beat()
    fleet.start_worker("w-redis", concurrency=4)
    wait_until(lambda: sent_count(texts) >= BATCH * 0.3, 90, "30 % of the batch to be sent")
    fleet.redis.flush_and_stop()
    at_stop = sent_count(texts)
    assert at_stop < BATCH, "the batch finished before Redis went: the test proves nothing"
    time.sleep(3)
    fleet.redis.start()
    wait_until(lambda: all_final(texts), FINISH, "every message to be final after Redis came back")
    result = audit("Redis flushed and restarted mid-batch", sandbox, groups, texts, started)
    result.assert_clean()
    assert all(p.poll() is None for p in fleet.workers.values()), "a worker died with Redis instead of reconnecting"
    assert result.statuses.get("sent", 0) > at_stop


def test_two_beats_and_four_workers(sandbox, groups, fleet):
    texts = create_batch(groups, BATCH, "crowd")
    started = time.monotonic()
    fleet.start_beat("beat-a")
    fleet.start_beat("beat-b")
    for n in range(4):
        fleet.start_worker(f"w-crowd-{n}", concurrency=2)
    wait_until(lambda: all_final(texts), FINISH, "every message to be final")
    result = audit("two beats, four workers", sandbox, groups, texts, started)
    result.assert_clean()
    assert result.statuses.get("sent", 0) == BATCH, "without faults every message should be sent"


FAULTS = [
    {"status": 429, "retryAfter": 1},
    {"status": 500},
    {"status": 502},
    {"status": 503},
    {"timeout": 4},  # held beyond the workers' 2 s read timeout
    {"drop": True},  # connection closed after the message was processed
    {"status": 308},  # the endpoint moves
    {"malformed": "truncated"},
    {"malformed": "html"},
]
FAULT_SHARE = 0.10


def test_sandbox_faults_at_ten_percent_of_calls(sandbox, groups, fleet):
    # The first matching rule fires, so rule i gets p / (1 - (i-1) p) for an even share p of the 10 %.
    share = FAULT_SHARE / len(FAULTS)
    rules = []
    for i, effect in enumerate(FAULTS):
        rules.append(sandbox.inject_fault(method="POST", pathRegex=r"/v1/groups/[^/]+/messages$",
                                          fraction=share / (1 - i * share), seed=1000 + i, **effect))
    texts = create_batch(groups, BATCH, "faults")
    started = time.monotonic()
    fleet.start_beat()
    fleet.start_worker("w-faults-a", concurrency=4)
    fleet.start_worker("w-faults-b", concurrency=4)
    wait_until(lambda: all_final(texts), FINISH + 60, "every message to be final")
    hits = {r["id"]: r["hits"] for r in sandbox._control("GET", "faults")["faults"]}
    sends = len(sandbox.calls(route="sendMessage"))
    result = audit("sandbox faults on 10 % of sends", sandbox, groups, texts, started)
    fired = {str(next(iter(effect.items()))): hits.get(rule["id"], 0)
             for effect, rule in zip(FAULTS, rules, strict=True)}
    print(f"faults fired: {fired} of {sends} send calls")
    result.assert_clean()
    assert all(n > 0 for n in fired.values()), f"some faults never fired: {fired}"
    assert 0.06 <= sum(fired.values()) / sends <= 0.14, f"{sum(fired.values())} faults in {sends} calls"
    # Faults that may have taken effect (500, timeout, drop, malformed) end unconfirmed; the rest are retried.
    ambiguous = sum(hits.get(rules[i]["id"], 0) for i in (1, 4, 5, 7, 8))
    assert result.statuses.get("unconfirmed", 0) == ambiguous
    assert result.statuses.get("sent", 0) == BATCH - ambiguous


def test_tokens_expire_and_a_refresh_token_is_revoked_mid_batch(sandbox, groups, phone_users, fleet, connector):
    revoked, _kept = phone_users
    revoked_groups = [g for g in groups if g.phone_user_id == revoked.pk]
    texts = create_batch(groups, BATCH, "tokens")
    revoked_texts = set(Message.objects.filter(text__in=texts, group__in=revoked_groups).values_list("text", flat=True))
    started = time.monotonic()
    fleet.start_beat()
    fleet.start_worker("w-tokens", concurrency=4)
    wait_until(lambda: sent_count(texts) >= BATCH * 0.2, 90, "20 % of the batch to be sent")
    sandbox.advance_clock(25 * 3600)  # every access token (24 h) has now expired at Kaizala
    wait_until(lambda: sent_count(texts) >= BATCH * 0.4, 90, "40 % of the batch to be sent after the expiry")
    sandbox.revoke_token(PhoneUser.objects.get(pk=revoked.pk).refresh_token)
    wait_until(lambda: PhoneUser.objects.get(pk=revoked.pk).state == PhoneUser.State.REAUTH_REQUIRED, 60,
               "the revoked phone user to need re-authentication")
    kept_texts = [t for t in texts if t not in revoked_texts]
    wait_until(lambda: all_final(kept_texts), FINISH, "the other phone user's messages to be final")
    # Sends of the revoked user already queued before the revocation come back to `scheduled` (deferred);
    # none is claimed again while it needs re-authentication. Wait for those in flight, not for a fixed time.
    wait_until(lambda: not set(status_counts(revoked_texts)) & {"queued", "sending"}, 60,
               "the revoked user's sends in flight to come back")
    waiting = status_counts(revoked_texts)
    assert waiting.get("scheduled", 0) > 0, f"the revoked user's messages should wait, not end: {dict(waiting)}"
    assert set(waiting) <= {"scheduled", "sent", "unconfirmed"}, dict(waiting)
    refreshes = len(sandbox.calls(path="/v1/accessToken"))
    # Re-onboarding (the PIN login, run inline here as the wizard's tasks would run it).
    onboard(sandbox, connector, revoked.mobile_number)
    wait_until(lambda: all_final(texts), FINISH, "every message to be final after re-onboarding")
    result = audit("tokens expired + refresh token revoked", sandbox, groups, texts, started)
    print(f"waiting while reauth_required: {dict(waiting)}; accessToken calls before re-onboarding: {refreshes}")
    result.assert_clean()
    assert result.statuses.get("sent", 0) >= BATCH - 8
    # One refresh per phone user after the expiry (the lock), plus the revoked user's failed one, plus slack.
    assert refreshes <= 2 + 2 + 4, f"{refreshes} accessToken calls: refreshes were not serialised"


def test_database_unavailable_for_seconds_mid_batch(sandbox, groups, fleet):
    """The database goes away for 6 s mid-batch, without stopping a server other suites share.
    PostgreSQL: every worker connection to the test database is terminated every 100 ms with
    pg_terminate_backend, which is what a restart does to them. SQLite (the embedded default): another
    connection holds the database's exclusive lock, so no worker can read or write."""
    texts = create_batch(groups, BATCH, "database")
    started = time.monotonic()
    fleet.start_beat()
    workers = [fleet.start_worker("w-db-a", concurrency=4), fleet.start_worker("w-db-b", concurrency=2)]
    wait_until(lambda: sent_count(texts) >= BATCH * 0.25, 90, "25 % of the batch to be sent")
    settings = connection.settings_dict
    killed = []
    own_pid = None
    if connection.vendor == "postgresql":  # this test's own connection (Django's are per thread) is spared
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own_pid = cursor.fetchone()[0]

    def kill_connections():
        if connection.vendor == "sqlite":
            locker = sqlite3.connect(settings["NAME"], timeout=30, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            killed.append(1)
            time.sleep(6)
            locker.execute("ROLLBACK")
            locker.close()
            return
        with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                             user=settings["USER"], password=settings["PASSWORD"] or None, dbname=settings["NAME"],
                             autocommit=True) as killer:
            end = time.monotonic() + 6
            while time.monotonic() < end:
                rows = killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND pid <> %s", [own_pid]).fetchall()
                killed.append(len(rows))
                time.sleep(0.1)

    thread = threading.Thread(target=kill_connections)
    thread.start()
    thread.join()
    at_recovery = sent_count(texts)
    assert at_recovery < BATCH, "the batch finished during the outage: the test proves nothing"
    wait_until(lambda: all_final(texts), FINISH, "every message to be final after the outage")
    result = audit(f"database unavailable for 6 s ({connection.vendor})", sandbox, groups, texts, started)
    print(f"connections terminated: {sum(killed)} in {len(killed)} rounds")
    result.assert_clean()
    assert sum(killed) > 0, "the database never became unavailable: the test proves nothing"
    assert all(w.poll() is None for w in workers), "a worker died instead of recovering"
    assert result.statuses.get("sent", 0) > at_recovery, "nothing was sent after the outage: workers did not recover"
