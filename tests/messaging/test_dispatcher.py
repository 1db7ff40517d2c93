"""The dispatcher process (`manage.py dispatcher`): it sleeps until the next due row or a wake, one is active
and a standby takes over when it dies. Real processes, a real worker on the real Redis, the sandbox over HTTP."""

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actor import SYSTEM
from dev import stop_process
from messaging import services
from messaging.dispatcher import lease_holder
from messaging.models import Message
from tests.fixtures.celery_worker import ROOT, start_dispatcher, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = Message.Status
# Passes only when due or woken: the lease (renewed every third of it) and the re-check are far longer than
# any wait below, so a message on time was not found by a re-check.
NO_RECHECK = {"DISPATCHER_RECHECK_SECONDS": "60", "DISPATCHER_LEASE_SECONDS": "300"}


@pytest.fixture
def dispatchers(celery_worker):
    started = []

    def start(name, **env):
        proc = start_dispatcher(name, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            stop_process(proc)


def active(name: str):
    return lambda: (lease_holder() or "").startswith(f"{name}:")


def sent(message):
    return lambda: Message.objects.get(pk=message.pk).status == Status.SENT


def log_of(name: str) -> str:
    return (ROOT / "test-artifacts" / f"{name}.log").read_text()


def test_a_message_due_in_two_seconds_is_sent_on_time_without_a_recheck(group, sandbox, dispatchers):
    dispatchers("dispatcher-timed", **NO_RECHECK)
    wait_for(active("dispatcher-timed"), timeout=30, message="the dispatcher to take the lease")
    due = timezone.now() + timedelta(seconds=2)
    # The wake after this commit makes it read the new due time; then it sleeps until exactly then.
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="timed", send_at=due)
    wait_for(sent(message), timeout=20, message="the message to be sent")
    lateness = (Message.objects.get(pk=message.pk).sent_at - due).total_seconds()
    assert 0 <= lateness < 2.0, f"sent {lateness:.2f} s after its time"


def test_a_message_to_send_now_wakes_the_dispatcher(group, sandbox, dispatchers):
    dispatchers("dispatcher-woken", **NO_RECHECK)
    wait_for(active("dispatcher-woken"), timeout=30, message="the dispatcher to take the lease")
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="now", send_at=None)
    wait_for(sent(message), timeout=20, message="the message to be sent (only a wake can have found it)")


def test_a_row_written_without_a_wake_is_found_by_the_recheck(group, sandbox, dispatchers):
    dispatchers("dispatcher-recheck", DISPATCHER_RECHECK_SECONDS="1")
    wait_for(active("dispatcher-recheck"), timeout=30, message="the dispatcher to take the lease")
    now = timezone.now()
    message = Message.objects.create(group=group, text="no wake", broadcast_id=services.uuid.uuid4(),
                                     status=Status.SCHEDULED, due_at=now, scheduled_for=now, status_changed_at=now)
    wait_for(sent(message), timeout=20, message="the message written without a wake to be sent")


def test_one_of_two_dispatchers_is_active_and_the_standby_takes_over_when_it_is_killed(group, sandbox, dispatchers):
    first = dispatchers("dispatcher-a")
    wait_for(active("dispatcher-a"), timeout=30, message="dispatcher-a to take the lease")
    dispatchers("dispatcher-b")
    wait_for(lambda: "dispatcher dispatcher-b started" in log_of("dispatcher-b"), timeout=30,
             message="dispatcher-b to start")
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="while a is active", send_at=None)
    wait_for(sent(message), timeout=20, message="the message to be sent by dispatcher-a")
    assert active("dispatcher-a")(), lease_holder()
    assert "is active" not in log_of("dispatcher-b")  # the standby stood by

    first.send_signal(signal.SIGKILL)  # no clean exit: the lease is not given back, it has to expire
    first.wait()
    killed_at = timezone.now()
    wait_for(active("dispatcher-b"), timeout=20, message="dispatcher-b to take over")
    takeover = (timezone.now() - killed_at).total_seconds()
    assert takeover < 10, f"the standby took {takeover:.1f} s"
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="after the takeover", send_at=None)
    wait_for(sent(message), timeout=20, message="the message to be sent by dispatcher-b")
    assert [m["text"] for m in sandbox.messages(group.kaizala_id)] == ["while a is active", "after the takeover"]


def test_a_retry_the_worker_schedules_wakes_the_dispatcher(group, sandbox, dispatchers):
    dispatchers("dispatcher-retry", **NO_RECHECK)
    wait_for(active("dispatcher-retry"), timeout=30, message="the dispatcher to take the lease")
    sandbox.inject_fault(method="POST", path="*/messages", count=1, status=503)
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="again", send_at=None)
    # The worker's first attempt ends `retrying`, due in a few seconds (RETRY_BACKOFF_BASE); the dispatcher,
    # asleep for its 60 s re-check, sends it again only if that outcome woke it.
    wait_for(sent(message), timeout=20, message="the retried message to be sent (only a wake can have found it)")
    assert Message.objects.get(pk=message.pk).attempt_count == 2


def test_a_lone_wake_starts_a_pass_at_once_and_a_stream_of_wakes_is_gathered(settings):
    from kaizala_console.redis_client import redis_client
    from kaizala_console.wake import WAKE_CHANNEL, dispatcher_wake
    from messaging.dispatcher import Dispatcher

    settings.DISPATCHER_GATHER_SECONDS = 2.0  # far above any scheduling delay, so that the two cases differ
    dispatcher = Dispatcher(name="dispatcher-gather")
    dispatcher._pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    dispatcher._pubsub.subscribe(WAKE_CHANNEL)
    dispatcher._pubsub.get_message(timeout=5)  # the subscription's confirmation: it listens from here
    try:
        dispatcher_wake()
        started = time.monotonic()
        dispatcher._wait(10)
        lone = time.monotonic() - started
        for _ in range(3):  # the next wakes come right after: a stream
            dispatcher_wake()
        started = time.monotonic()
        dispatcher._wait(10)
        streamed = time.monotonic() - started
        assert lone < settings.DISPATCHER_GATHER_SECONDS <= streamed, (lone, streamed)
        assert dispatcher._pubsub.get_message(timeout=0) is None  # the wakes gathered left none for later
    finally:
        dispatcher._drop_pubsub()
