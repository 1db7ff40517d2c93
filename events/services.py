"""Every write about webhook subscriptions and the events Kaizala delivers.

Rules that keep an event from being lost or counted twice:
- an event is stored (unique by Kaizala's `eventId`) before the receiver answers 200; a redelivery finds
  the stored row and is acknowledged without a second one;
- processing is enqueued after commit and runs under a row lock on the event, and only while the event
  is unprocessed, so a redelivered task or the sweeper never applies an event twice;
- an event that fails to process keeps its error and waits for "process again"; one whose task was lost
  is enqueued again by the sweeper;
- every state change is a compare-and-set (`_transition`), acted on by its row count.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Event, Subscription

log = logging.getLogger(__name__)
State = Subscription.State


class EventError(Exception):
    """An action on an event or subscription the console refuses; the message is for the page."""


class EventInvalid(Exception):
    """A stored event that cannot be processed as it is; the message is the sentence the page shows."""


def _transition(subscription_id: int, from_states, to_state: str, **fields) -> bool:
    """Compare-and-set: move the subscription only if it is still in one of `from_states`."""
    return bool(
        Subscription.objects.filter(pk=subscription_id, state__in=list(from_states)).update(
            state=to_state, state_changed_at=timezone.now(), **fields
        )
    )


def subscription_token_matches(subscription: Subscription, given: str | None) -> bool:
    """Constant-time comparison with the stored callBackToken; a missing header never matches."""
    if not given or not subscription.callback_token:
        return False
    return hmac.compare_digest(given.encode(), subscription.callback_token.encode())


# --- receiving --------------------------------------------------------------------------------------


def _action_id(raw: dict) -> str:
    data = raw.get("data")
    value = data.get("actionId") if isinstance(data, dict) else None
    return value[:200] if isinstance(value, str) else ""


def event_receive(*, subscription: Subscription, raw: dict) -> tuple[Event, bool]:
    """Store one delivered event; (event, False) when its `eventId` was stored before (a redelivery).

    The caller checked that `raw["eventId"]` is a non-empty string of at most 200 characters.
    """
    event_type = raw.get("eventType")
    try:
        with transaction.atomic():
            event = Event.objects.create(
                subscription=subscription, event_id=raw["eventId"], raw=raw,
                event_type=event_type[:100] if isinstance(event_type, str) else "", action_id=_action_id(raw),
            )
            transaction.on_commit(lambda: _enqueue_processing(event.pk))
    except IntegrityError:
        # Kaizala delivers at least once: the same eventId again is acknowledged, not stored again.
        existing = Event.objects.filter(event_id=raw["eventId"]).first()
        if existing is None:
            raise
        return existing, False
    return event, True


def _enqueue_processing(event_id: int) -> None:
    from events.tasks import process_event

    process_event.delay(event_id)


# --- processing -------------------------------------------------------------------------------------


def _handle(event: Event) -> None:
    """Apply one event to what the pages show. Unknown types are kept as they are, shown raw."""
    from events import processing

    handler = processing.HANDLERS.get(event.event_type)
    if handler is not None:
        handler(event)


def event_process(event_id: int) -> bool:
    """Process one stored event once; False when it was processed already (or is gone)."""
    try:
        with transaction.atomic():
            event = (Event.objects.select_for_update().select_related("subscription__group")
                     .filter(pk=event_id, processed_at__isnull=True).first())
            if event is None:
                return False
            _handle(event)
            Event.objects.filter(pk=event.pk).update(processed_at=timezone.now(), error="")
            return True
    except EventInvalid as exc:
        reason = str(exc)
    except Exception:
        # Kept with its error for "process again"; the traceback goes to the worker's log only.
        log.exception("Event %s could not be processed", event_id)
        reason = "Processing failed unexpectedly; the worker's log has the details."
    Event.objects.filter(pk=event_id, processed_at__isnull=True).update(error=reason[:1000])
    return False


def event_process_again(*, event: Event) -> None:
    """A failed event: clear its error and enqueue it once more."""
    with transaction.atomic():
        if not Event.objects.filter(pk=event.pk, processed_at__isnull=True).exclude(error="").update(error=""):
            raise EventError("Only an event that failed to process can be processed again.")
        transaction.on_commit(lambda: _enqueue_processing(event.pk))


def events_sweep(now=None) -> int:
    """Enqueue again the events stored but not processed for EVENT_PROCESS_TIMEOUT seconds (a lost task,
    a worker that was down). Failed ones wait for a person. Returns how many were enqueued."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EVENT_PROCESS_TIMEOUT)
    waiting = list(Event.objects.filter(processed_at__isnull=True, error="", received_at__lte=cutoff)
                   .order_by("received_at").values_list("pk", flat=True)[:settings.EVENT_SWEEP_BATCH])
    for pk in waiting:
        _enqueue_processing(pk)
    return len(waiting)
