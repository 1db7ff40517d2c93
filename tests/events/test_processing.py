"""Processing stored events: once, after commit; failures kept for "process again"; the sweeper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actor import SYSTEM
from events import processing, services
from events.models import Event, InboundPost
from tests.events.conftest import deliver, make_subscription, text_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(monkeypatch):
    """A TextMessageCreated handler that records each call, so 'once' is a count."""
    calls = []
    monkeypatch.setitem(processing.HANDLERS, "TextMessageCreated", lambda event: calls.append(event.event_id))
    return calls


def test_an_event_is_processed_once_after_commit(client, counted, django_capture_on_commit_callbacks):
    subscription = make_subscription()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, subscription, text_event("p-1"))
        deliver(client, subscription, text_event("p-1"))
    event = Event.objects.get(event_id="p-1")
    assert event.processed_at is not None
    assert counted == ["p-1"]
    # A lost task's copy or a sweeper's run later does nothing more.
    assert services.event_process(event.pk) is False
    assert counted == ["p-1"]


def test_a_failure_is_kept_with_its_error_and_processed_again_on_request(client, monkeypatch,
                                                                         django_capture_on_commit_callbacks):
    def broken(event):
        raise services.EventInvalid("The event names no sender.")

    monkeypatch.setitem(processing.HANDLERS, "TextMessageCreated", broken)
    subscription = make_subscription()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, subscription, text_event("p-fail"))
    event = Event.objects.get(event_id="p-fail")
    assert event.failed and event.error == "The event names no sender."

    fixed = []
    monkeypatch.setitem(processing.HANDLERS, "TextMessageCreated", lambda e: fixed.append(e.pk))
    with django_capture_on_commit_callbacks(execute=True):
        services.event_process_again(actor=SYSTEM, event=event)
    event.refresh_from_db()
    assert event.processed_at is not None and not event.error and fixed == [event.pk]
    with pytest.raises(services.EventError):
        services.event_process_again(actor=SYSTEM, event=event)


def test_an_unexpected_failure_is_a_sentence_not_the_exception(client, monkeypatch, django_capture_on_commit_callbacks):
    def broken(event):
        raise KeyError("secret-internal-detail")

    monkeypatch.setitem(processing.HANDLERS, "TextMessageCreated", broken)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, make_subscription(), text_event("p-bug"))
    event = Event.objects.get(event_id="p-bug")
    assert event.failed and "secret-internal-detail" not in event.error


def test_the_sweeper_enqueues_events_whose_task_was_lost(counted, settings):
    subscription = make_subscription()
    old = timezone.now() - timedelta(seconds=settings.EVENT_PROCESS_TIMEOUT + 5)
    lost = Event.objects.create(subscription=subscription, event_id="s-lost", event_type="TextMessageCreated",
                                raw=text_event("s-lost"), received_at=old)
    Event.objects.create(subscription=subscription, event_id="s-new", event_type="TextMessageCreated",
                         raw=text_event("s-new"))
    Event.objects.create(subscription=subscription, event_id="s-failed", event_type="TextMessageCreated",
                         raw=text_event("s-failed"), received_at=old, error="It failed.")
    assert services.events_sweep() == 1
    lost.refresh_from_db()
    assert lost.processed_at is not None and counted == ["s-lost"]


def test_the_process_again_button_is_for_operators(client_for):
    from accounts.roles import Role

    subscription = make_subscription()
    event = Event.objects.create(subscription=subscription, event_id="b-1", event_type="X", raw={"eventId": "b-1"},
                                 error="It failed.")
    viewer = client_for(Role.VIEWER)
    page = viewer.get(f"/events/{event.pk}/")
    assert page.status_code == 200 and b"Process again" not in page.content
    assert viewer.post(f"/events/{event.pk}/process-again/").status_code == 403
    assert Event.objects.get(pk=event.pk).error == "It failed."


def test_received_and_processed_events_move_the_metrics_once_each(client, counted, settings,
                                                                   django_capture_on_commit_callbacks):
    from tests.ops.test_metrics import TOKEN, scrape, value

    settings.METRICS_TOKEN = TOKEN
    subscription = make_subscription()
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, subscription, text_event("m-1"))
        deliver(client, subscription, text_event("m-1"))  # a redelivery is neither stored nor counted again
    after = scrape(client)
    for name in ("console_webhook_events_received_total", "console_webhook_events_processed_total",
                 "console_webhook_event_lag_seconds_count"):
        assert value(after, name) == value(before, name) + 1, name


def test_the_drain_processes_every_waiting_event_in_batches_and_leaves_failed_ones(settings):
    settings.EVENT_PROCESS_BATCH = 2
    subscription = make_subscription()
    for n in range(5):
        Event.objects.create(subscription=subscription, event_id=f"d-{n}", event_type="TextMessageCreated",
                             raw=text_event(f"d-{n}", text=f"post {n}"))
    Event.objects.create(subscription=subscription, event_id="d-failed", event_type="TextMessageCreated",
                         raw=text_event("d-failed"), error="It failed.")
    assert services.events_process_waiting() == 5
    assert sorted(InboundPost.objects.values_list("text", flat=True)) == [f"post {n}" for n in range(5)]
    assert Event.objects.filter(processed_at__isnull=True).get().event_id == "d-failed"
    assert services.events_process_waiting() == 0  # nothing twice


def test_one_bad_event_in_a_batch_keeps_its_error_and_the_others_apply():
    subscription = make_subscription()
    for event_id in ("b-1", "b-bad", "b-2"):
        raw = text_event(event_id) if event_id != "b-bad" else {**text_event(event_id), "data": "not an object"}
        Event.objects.create(subscription=subscription, event_id=event_id, event_type="TextMessageCreated", raw=raw)
    services.events_process_waiting()
    events = {e.event_id: e for e in Event.objects.all()}
    assert events["b-1"].processed_at and events["b-2"].processed_at
    assert events["b-bad"].failed and events["b-bad"].error == "The event carries no data object."
    assert InboundPost.objects.count() == 2
