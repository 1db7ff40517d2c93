"""The receiver: Kaizala's handshake, the checks before an event is stored, and storage exactly once."""

import logging
import uuid

import pytest
from django.db import OperationalError

from events import selectors
from events.models import Event, Subscription
from tests.events.conftest import TOKEN, deliver, make_subscription, text_event

pytestmark = pytest.mark.django_db


def test_the_handshake_echoes_the_validation_token_as_plain_text(client, subscription):
    response = client.get(f"/events/hook/{subscription.key}/", {"validationToken": "abc-123"})
    assert response.status_code == 200
    assert response.content == b"abc-123"
    assert response["Content-Type"].startswith("text/plain")


def test_a_handshake_without_a_token_is_400(client, subscription):
    assert client.get(f"/events/hook/{subscription.key}/").status_code == 400


def test_an_unknown_or_removed_subscription_is_404(client, subscription):
    assert deliver(client, type("S", (), {"key": uuid.uuid4()}), text_event("e-unknown")).status_code == 404
    removed = make_subscription(state=Subscription.State.REMOVED)
    assert deliver(client, removed, text_event("e-removed")).status_code == 404
    assert client.get(f"/events/hook/{removed.key}/", {"validationToken": "x"}).status_code == 404
    assert not Event.objects.exists()


def test_a_forged_token_is_403_logged_once_without_the_token(client, subscription, caplog):
    forged = "forged-token-value-777"
    with caplog.at_level(logging.INFO):
        response = deliver(client, subscription, text_event("e-forged"), token=forged)
    assert response.status_code == 403
    refusals = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]
    assert str(subscription.pk) in refusals[0].getMessage()
    assert all(forged not in r.getMessage() and TOKEN not in r.getMessage() for r in caplog.records)
    assert not Event.objects.exists()


def test_a_missing_token_is_403(client, subscription):
    assert deliver(client, subscription, text_event("e-missing"), token=None).status_code == 403
    assert not Event.objects.exists()


def test_the_token_is_stored_encrypted(subscription):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT callback_token FROM events_subscription WHERE id = %s", [subscription.pk])
        stored = cursor.fetchone()[0]
    assert TOKEN not in stored
    assert Subscription.objects.get(pk=subscription.pk).callback_token == TOKEN


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"eventType": "TextMessageCreated"}',
                                  b'{"eventId": ""}', b"\xff\xfe"], ids=["text", "list", "no-id", "empty-id", "bytes"])
def test_a_body_that_is_not_an_event_is_400(client, subscription, body):
    assert deliver(client, subscription, body).status_code == 400
    assert not Event.objects.exists()


def test_a_body_over_one_megabyte_is_400(client, subscription, settings):
    big = text_event("e-big", text="x" * (settings.EVENT_MAX_BYTES + 10))
    assert deliver(client, subscription, big).status_code == 400
    assert not Event.objects.exists()


def test_an_event_is_stored_and_answered_200(client, subscription, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = deliver(client, subscription, text_event("e-1", action="x"))
    assert response.status_code == 200
    event = Event.objects.get()
    assert (event.event_id, event.event_type, event.subscription_id) == ("e-1", "TextMessageCreated", subscription.pk)
    assert event.raw["data"] == {"text": "Hello from a member"}
    # Processing is enqueued after the commit, not before: it has not run while the answer was made.
    assert event.processed_at is None and len(callbacks) == 1


def test_a_redelivery_is_acknowledged_and_stored_once(client, subscription):
    for _ in range(3):
        assert deliver(client, subscription, text_event("e-again")).status_code == 200
    assert Event.objects.filter(event_id="e-again").count() == 1


def test_a_replayed_event_to_another_subscription_is_stored_once(client, subscription):
    other = make_subscription(token="another-token-abcdef")
    assert deliver(client, subscription, text_event("e-replay")).status_code == 200
    assert deliver(client, other, text_event("e-replay"), token="another-token-abcdef").status_code == 200
    assert Event.objects.filter(event_id="e-replay").count() == 1


def test_an_unknown_event_type_is_kept_and_shown_raw_as_text(client, subscription, client_for,
                                                             django_capture_on_commit_callbacks):
    from accounts.roles import Role

    raw = {"eventId": "e-odd", "eventType": "Something<script>", "data": {"weird": [1, "<b>x</b>"]}}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, subscription, raw).status_code == 200
    event = Event.objects.get(event_id="e-odd")
    assert event.raw == raw and event.processed_at is not None and not event.error
    page = client_for(Role.VIEWER).get(f"/events/{event.pk}/")
    assert b"&lt;b&gt;x&lt;/b&gt;" in page.content and b"<b>x</b>" not in page.content
    assert b"Something&lt;script&gt;" in page.content


def test_a_database_that_cannot_be_reached_is_503_and_stores_nothing(client, subscription, monkeypatch):
    def unreachable(key):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "receiving_subscription", unreachable)
    response = deliver(client, subscription, text_event("e-down"))
    assert response.status_code == 503
    monkeypatch.undo()
    assert not Event.objects.exists()
    assert deliver(client, subscription, text_event("e-down")).status_code == 200
    assert Event.objects.filter(event_id="e-down").count() == 1


def test_no_login_and_no_csrf_are_needed_on_the_receiver_only(subscription):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert deliver(strict, subscription, text_event("e-csrf")).status_code == 200
    assert strict.post("/events/", {}).status_code == 403  # the CSRF check still guards every other URL
    assert strict.get("/events/").status_code == 302


def test_other_methods_are_405(client, subscription):
    for method in ("PUT", "DELETE", "PATCH"):
        assert client.generic(method, f"/events/hook/{subscription.key}/").status_code == 405


def test_a_refusal_is_noted_on_the_subscription_at_most_once_a_minute(client, subscription):
    deliver(client, subscription, text_event("e-r1"), token="forged-1")
    first = Subscription.objects.get(pk=subscription.pk).last_refused_at
    deliver(client, subscription, text_event("e-r2"), token="forged-2")
    assert first is not None and Subscription.objects.get(pk=subscription.pk).last_refused_at == first


def test_an_event_the_database_cannot_hold_is_400_not_503(client, subscription):
    from django.db import connection

    response = deliver(client, subscription, b'{"eventId": "e-nul", "data": {"text": "a\\u0000b"}}')
    if connection.vendor == "postgresql":
        assert response.status_code == 400
        assert not Event.objects.filter(event_id="e-nul").exists()
    else:  # SQLite stores it
        assert response.status_code == 200


def test_a_broker_that_is_down_does_not_fail_the_delivery(client, subscription, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    from events import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.process_waiting_events, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, subscription, text_event("e-nobroker"))
    assert response.status_code == 200
    assert Event.objects.filter(event_id="e-nobroker", processed_at__isnull=True).count() == 1
