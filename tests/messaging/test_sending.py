"""Dispatch and send against the sandbox over real HTTP, tasks eager: every fault class ends in the
state DESIGN.md gives it, and a message is never sent twice."""

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from audit.actor import SYSTEM
from connectors.models import PhoneUser
from messaging import services
from messaging.models import Attempt, Message

pytestmark = pytest.mark.django_db
Status = Message.Status


def send_now(group, text="Hello team") -> Message:
    [message] = services.message_create(actor=SYSTEM, groups=[group], text=text, send_at=None)
    return message


def test_a_message_due_now_is_sent_once_with_kaizalas_reference(group, dispatch, sandbox):
    message = send_now(group, "Hello ✓ team")
    assert dispatch() == 1
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert message.reference_id and message.sent_at
    arrived = sandbox.messages(group.kaizala_id)
    assert [m["text"] for m in arrived] == ["Hello ✓ team"]
    assert dispatch() == 0
    assert len(sandbox.messages(group.kaizala_id)) == 1
    assert list(message.attempts.values_list("outcome", flat=True)) == [Attempt.Outcome.SENT]


def test_a_future_message_waits_for_its_time(group, dispatch):
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="later",
                                        send_at=timezone.now() + timedelta(hours=1))
    assert dispatch() == 0
    assert Message.objects.get(pk=message.pk).status == Status.SCHEDULED


def test_several_groups_make_one_broadcast(make_group, dispatch, sandbox):
    a, b = make_group("A"), make_group("B")
    messages = services.message_create(actor=SYSTEM, groups=[a, b], text="to both", send_at=None)
    assert len({m.broadcast_id for m in messages}) == 1
    dispatch()
    assert [m["text"] for m in sandbox.messages(a.kaizala_id)] == ["to both"]
    assert [m["text"] for m in sandbox.messages(b.kaizala_id)] == ["to both"]


@pytest.mark.parametrize(
    ("fault", "status", "outcome"),
    [
        ({"status": 500}, Status.UNCONFIRMED, Attempt.Outcome.UNCONFIRMED),
        ({"status": 502}, Status.RETRYING, Attempt.Outcome.RETRY),
        ({"status": 503}, Status.RETRYING, Attempt.Outcome.RETRY),
        ({"status": 429, "retryAfter": 7}, Status.RETRYING, Attempt.Outcome.DEFERRED),
        ({"timeout": 3}, Status.UNCONFIRMED, Attempt.Outcome.UNCONFIRMED),
        ({"drop": True}, Status.UNCONFIRMED, Attempt.Outcome.UNCONFIRMED),
        ({"malformed": "html"}, Status.UNCONFIRMED, Attempt.Outcome.UNCONFIRMED),
        ({"malformed": "truncated"}, Status.UNCONFIRMED, Attempt.Outcome.UNCONFIRMED),
    ],
    ids=["500", "502", "503", "429", "timeout", "drop", "malformed-html", "malformed-truncated"],
)
def test_each_fault_class_ends_in_its_state(group, dispatch, sandbox, settings, fault, status, outcome):
    settings.KAIZALA_READ_TIMEOUT = 1.0
    message = send_now(group)
    sandbox.inject_fault(method="POST", path="*/messages", count=1, **fault)
    dispatch()
    message.refresh_from_db()
    assert message.status == status, message.last_error
    assert message.last_error
    assert message.attempts.get().outcome == outcome
    if status == Status.RETRYING:
        assert message.due_at > timezone.now()
    if outcome == Attempt.Outcome.DEFERRED:
        assert message.attempt_count == 0  # a 429 is not a failed attempt
        assert message.due_at >= timezone.now() + timedelta(seconds=5)


@pytest.mark.parametrize("fault", [{"status": 500}, {"malformed": "html"}], ids=["500", "malformed"])
def test_an_unclear_token_refresh_before_the_post_retries_instead_of_asking_an_operator(group, dispatch, sandbox,
                                                                                        fault):
    # The post was refused with 401 (never applied); the refresh's own unclear answer says nothing of it.
    sandbox.advance_clock(25 * 3600)
    sandbox.inject_fault(method="GET", path="*/accessToken", count=1, **fault)
    message = send_now(group)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.RETRYING, message.last_error
    assert message.last_error.startswith("Before the post (nothing was sent)")
    assert [c["status"] for c in sandbox.calls(path="*/messages")] == [401]
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert len(sandbox.messages(group.kaizala_id)) == 1


def test_a_console_failure_before_the_call_retries_and_the_message_goes_out_once(group, dispatch, sandbox,
                                                                                  monkeypatch):
    # A local fault before the request (here the shared limiter's process failing) sent nothing: the message
    # goes back to retry, it is not left `sending` for the sweeper to call unconfirmed.
    from connectors import kaizala_access

    def broken(self, keys, **kwargs):
        raise FileNotFoundError("the metrics directory is gone")

    monkeypatch.setattr(kaizala_access._MeteredLimiter, "acquire", broken)
    message = send_now(group)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.RETRYING, message.last_error
    assert "nothing was sent" in message.last_error and "FileNotFoundError" in message.last_error
    assert message.attempts.get().outcome == Attempt.Outcome.RETRY
    assert sandbox.calls(path="*/messages") == []
    monkeypatch.undo()
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert message.attempt_count == 2
    assert len(sandbox.messages(group.kaizala_id)) == 1


def test_a_failure_reading_kaizalas_answer_is_unconfirmed_at_once(group, dispatch, sandbox, monkeypatch):
    from kaizala import transport

    def unreadable(response, body, parsed):
        raise RuntimeError("a bug while reading the answer")

    monkeypatch.setattr(transport, "classify", unreadable)
    message = send_now(group)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.UNCONFIRMED, message.last_error
    assert "may have been delivered" in message.last_error
    assert len(sandbox.messages(group.kaizala_id)) == 1


def test_a_retrying_message_goes_out_when_due_again(group, dispatch, sandbox):
    message = send_now(group)
    sandbox.inject_fault(method="POST", path="*/messages", count=1, status=503)
    dispatch()
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempt_count == 2
    assert len(sandbox.messages(group.kaizala_id)) == 1


def test_transient_errors_give_up_after_the_attempt_limit(group, dispatch, sandbox, settings):
    settings.SEND_MAX_ATTEMPTS = 3
    message = send_now(group)
    sandbox.inject_fault(method="POST", path="*/messages", status=502)
    for _ in range(3):
        dispatch()
        Message.objects.filter(pk=message.pk, status=Status.RETRYING).update(due_at=timezone.now())
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "Gave up after 3 attempts" in message.last_error
    assert sandbox.messages(group.kaizala_id) == []


def test_a_validation_error_fails_at_once_with_kaizalas_message(group, dispatch, sandbox):
    message = send_now(group)
    sandbox.inject_fault(method="POST", path="*/messages", count=1, status=400)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.last_error.startswith("Kaizala said")


def test_an_expired_access_token_is_refreshed_and_the_message_sent(group, dispatch, sandbox):
    sandbox.advance_clock(25 * 3600)
    message = send_now(group)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert [c["status"] for c in sandbox.calls(path="*/messages")] == [401, 200]


def test_a_moved_endpoint_is_followed(group, dispatch, sandbox):
    message = send_now(group)
    sandbox.inject_fault(method="POST", path="*/messages", count=1, status=308)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert len(sandbox.messages(group.kaizala_id)) == 1


def test_kaizala_unreachable_retries(group, dispatch, settings):
    settings.KAIZALA_ENDPOINT_HOSTS = ["127.0.0.1:9"]  # an allowed endpoint host where nothing listens
    PhoneUser.objects.filter(pk=group.phone_user_id).update(endpoint_url="http://127.0.0.1:9/kms/")
    message = send_now(group)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.RETRYING
    assert "could not be reached" in message.last_error


def test_a_revoked_refresh_token_makes_messages_wait_until_reonboarding(group, dispatch, sandbox, onboard):
    phone_user = group.phone_user
    sandbox.revoke_token(phone_user.refresh_token)
    sandbox.advance_clock(25 * 3600)
    message = send_now(group)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SCHEDULED
    assert PhoneUser.objects.get(pk=phone_user.pk).state == PhoneUser.State.REAUTH_REQUIRED
    assert dispatch() == 0  # waits while its phone user needs re-authentication
    onboard(phone_user.connector, phone_user.mobile_number)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert len(sandbox.messages(group.kaizala_id)) == 1


@pytest.mark.django_db(transaction=True)  # each thread commits on its own connection, as workers do
def test_only_one_worker_can_send_a_message(group, sandbox):
    message = send_now(group)
    Message.objects.filter(pk=message.pk).update(status=Status.QUEUED)
    racers = 8
    start = threading.Barrier(racers)
    results, errors = [], []

    def worker():
        try:
            start.wait(timeout=10)  # all at once: every thread reads the message as queued
            results.append(services.message_send_run(message.pk))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results, key=str) == [None] * (racers - 1) + [Status.SENT]
    assert len(sandbox.calls(route="sendMessage")) == 1  # what Kaizala saw: one send
    assert len(sandbox.messages(group.kaizala_id)) == 1
    assert Message.objects.get(pk=message.pk).attempts.count() == 1


def test_the_sweeper_requeues_lost_work_and_gives_up_on_stuck_sends(group, settings, django_capture_on_commit_callbacks,
                                                                     sandbox):
    lost = send_now(group, "lost in the broker")
    stuck = send_now(group, "worker died")
    long_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk=lost.pk).update(status=Status.QUEUED, status_changed_at=long_ago)
    Message.objects.filter(pk=stuck.pk).update(status=Status.SENDING, status_changed_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.messages_sweep()
    assert result == {"requeued": 1, "unconfirmed": 1}
    assert Message.objects.get(pk=lost.pk).status == Status.SENT
    assert Message.objects.get(pk=stuck.pk).status == Status.UNCONFIRMED
    assert [m["text"] for m in sandbox.messages(group.kaizala_id)] == ["lost in the broker"]


def test_operator_actions_are_compare_and_set(group, dispatch):
    message = send_now(group)
    services.message_cancel(actor=SYSTEM, message=message)
    assert Message.objects.get(pk=message.pk).status == Status.CANCELLED
    assert dispatch() == 0
    with pytest.raises(services.ComposeError):
        services.message_cancel(actor=SYSTEM, message=message)
    with pytest.raises(services.ComposeError):
        services.message_mark_sent(actor=SYSTEM, message=message)


def test_an_unconfirmed_message_is_resolved_by_the_operator(group, dispatch, sandbox):
    message = send_now(group)
    sandbox.inject_fault(method="POST", path="*/messages", count=1, drop=True)
    dispatch()
    assert Message.objects.get(pk=message.pk).status == Status.UNCONFIRMED
    assert dispatch() == 0  # never re-sent automatically
    services.message_retry(actor=SYSTEM, message=message)
    dispatch()
    assert Message.objects.get(pk=message.pk).status == Status.SENT
    assert len(sandbox.messages(group.kaizala_id)) == 2  # the dropped one had arrived: the operator chose


@contextmanager
def database_lost_while_recording_a_send(times: int):
    """The database goes away `times` times when the worker records what Kaizala answered (the first write
    after the call: its attempt's outcome). On PostgreSQL the worker's connection is really terminated by the
    server; SQLite has no server to lose, so there the driver's error is raised at that statement."""
    lost = []

    def at_the_record(execute, sql, params, many, context):
        if sql.startswith('UPDATE "messaging_attempt"') and len(lost) < times:
            lost.append(sql)
            if connection.vendor != "postgresql":
                raise OperationalError("disk I/O error")
            pid = context["connection"].connection.info.backend_pid
            killer = connections.create_connection("default")
            try:
                with killer.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            finally:
                killer.close()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(at_the_record):
        yield lost


@pytest.mark.django_db(transaction=True)  # the retry closes and reopens the connection for real
def test_a_short_database_outage_while_recording_a_send_is_retried(group, sandbox, settings):
    settings.FINISH_RETRY_SECONDS = 5
    message = send_now(group)
    Message.objects.filter(pk=message.pk).update(status=Status.QUEUED)
    with database_lost_while_recording_a_send(times=2) as lost:
        assert services.message_send_run(message.pk) == Status.SENT
    assert len(lost) == 2
    message.refresh_from_db()
    assert message.status == Status.SENT and message.reference_id
    assert message.attempts.get().outcome == Attempt.Outcome.SENT
    assert len(sandbox.calls(route="sendMessage")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_long_database_outage_gives_up_and_leaves_the_message_to_the_sweeper(group, sandbox, settings):
    settings.FINISH_RETRY_SECONDS = 0.5
    message = send_now(group)
    Message.objects.filter(pk=message.pk).update(status=Status.QUEUED)
    with database_lost_while_recording_a_send(times=1000) as lost, pytest.raises(OperationalError):
        services.message_send_run(message.pk)
    assert len(lost) >= 2  # it did try again before giving up
    assert Message.objects.get(pk=message.pk).status == Status.SENDING  # the sweeper's to judge
    assert len(sandbox.calls(route="sendMessage")) == 1
