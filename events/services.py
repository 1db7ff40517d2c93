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
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.actor import SYSTEM, Actor
from audit.models import Kind
from audit.services import audit_record
from events.models import GROUP_EVENT_TYPES, Event, InboxMark, Subscription
from events.selectors import Receiving
from kaizala_console import metrics

log = logging.getLogger(__name__)
State = Subscription.State
# Set while a drain of the waiting events is queued and has not started yet (see _kick_processing).
DRAIN_QUEUED = "events:drain-queued"


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


def subscription_token_matches(subscription: Subscription | Receiving, given: str | None) -> bool:
    """Constant-time comparison with the stored callBackToken; a missing header never matches."""
    if not given or not subscription.callback_token:
        return False
    return hmac.compare_digest(given.encode(), subscription.callback_token.encode())


# --- receiving --------------------------------------------------------------------------------------


def _action_id(raw: dict) -> str:
    data = raw.get("data")
    value = data.get("actionId") if isinstance(data, dict) else None
    return value[:200] if isinstance(value, str) else ""


def _insert_event(*, subscription_id: int, raw: dict, received_at) -> bool:
    """INSERT … ON CONFLICT (event_id) DO NOTHING: one statement, True when the row is new."""
    event_type = raw.get("eventType")
    values = [subscription_id, raw["eventId"], event_type[:100] if isinstance(event_type, str) else "",
              _action_id(raw), Event._meta.get_field("raw").get_db_prep_save(raw, connection),
              Event._meta.get_field("received_at").get_db_prep_save(received_at, connection), ""]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_event (subscription_id, event_id, event_type, action_id, raw, received_at, error) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING RETURNING id", values)
        return cursor.fetchone() is not None


def event_receive(*, subscription: Subscription | Receiving, raw: dict) -> bool:
    """Store one delivered event; False when its `eventId` was stored before (a redelivery, acknowledged
    and not stored again).

    The caller checked that `raw["eventId"]` is a non-empty string of at most 200 characters.
    One INSERT that is its own transaction: the event is committed when this returns. Inside a caller's
    transaction it runs under a savepoint, so a value the database refuses does not spoil the caller's.
    """
    def insert() -> bool:
        return _insert_event(subscription_id=subscription.pk, raw=raw, received_at=timezone.now())

    if connection.in_atomic_block:
        with transaction.atomic():
            created = insert()
    else:
        created = insert()
    if created:
        # Robust: the event is stored, so the answer is 200 even when Redis or the broker is down (the
        # sweeper enqueues it later); a failure here would make Kaizala deliver it again for nothing.
        transaction.on_commit(_stored, robust=True)
    return created


def _stored() -> None:
    """After the commit of a new event: count it, and make sure a drain of the waiting events is queued."""
    metrics.webhook_event_received()
    _kick_processing()


def _kick_processing() -> None:
    """Queue one `process_waiting_events` task unless one is queued and not yet started (the flag): that
    one will find this event too, as it clears the flag before it looks. A flag whose task was lost
    expires after EVENT_DRAIN_FLAG_SECONDS; until then the next drain or the sweeper finds the event."""
    from events.tasks import process_waiting_events
    from kaizala_console.redis_client import redis_client

    client = redis_client()
    if not client.set(DRAIN_QUEUED, "1", nx=True, ex=settings.EVENT_DRAIN_FLAG_SECONDS):
        return
    try:
        process_waiting_events.delay()
    except Exception:
        client.delete(DRAIN_QUEUED)  # nothing was queued: the next event tries again
        raise


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


def _locked_events():
    # The callBackToken is not needed here: not loaded, not decrypted.
    return (Event.objects.select_for_update(of=("self",)).select_related("subscription__group")
            .defer("subscription__callback_token"))


def _processed(events: list[Event]) -> None:
    """Mark `events` (locked, handled) processed, and count them once the transaction commits."""
    processed_at = timezone.now()
    Event.objects.filter(pk__in=[event.pk for event in events]).update(processed_at=processed_at, error="")

    def count():
        for event in events:
            metrics.webhook_event_processed(received_at=event.received_at, processed_at=processed_at)

    transaction.on_commit(count)


def event_process(event_id: int) -> bool:
    """Process one stored event once; False when it was processed already (or is gone)."""
    try:
        with transaction.atomic():
            event = _locked_events().filter(pk=event_id, processed_at__isnull=True).first()
            if event is None:
                return False
            _handle(event)
            _processed([event])
            return True
    except EventInvalid as exc:
        reason = str(exc)
    except Exception:
        # Kept with its error for "process again"; the traceback goes to the worker's log only.
        log.exception("Event %s could not be processed", event_id)
        reason = "Processing failed unexpectedly; the worker's log has the details."
    Event.objects.filter(pk=event_id, processed_at__isnull=True).update(error=reason[:1000])
    return False


def _process_batch(size: int) -> int:
    """Lock up to `size` waiting events (skipping those another drain holds), apply them and mark them
    processed in one transaction. When one of them fails the whole batch is rolled back and each event is
    processed alone, so the others still apply and the failing one keeps its own error."""
    from events import processing

    events: list[Event] = []
    try:
        with transaction.atomic():
            events = list(_locked_events().select_for_update(of=("self",), skip_locked=True)
                          .filter(processed_at__isnull=True, error="").order_by("received_at", "id")[:size])
            if events:
                processing.handle_batch(events)
                _processed(events)
    except Exception:
        if not events:
            raise
        log.info("A batch of %s events failed; processing them one at a time", len(events), exc_info=True)
        for event in events:
            event_process(event.pk)
    return len(events)


def events_process_waiting(*, seconds: float | None = None) -> int:
    """The drain: process every stored event that waits (not processed, not failed), a batch of
    EVENT_PROCESS_BATCH per transaction, until none is left; after `seconds` (EVENT_DRAIN_SECONDS) it
    queues a successor instead of running on. Several drains may run at once: each skips the rows another
    has locked. Returns how many events it took."""
    from kaizala_console.redis_client import redis_client

    # Before looking: an event committed from now on queues a drain of its own (see _kick_processing).
    redis_client().delete(DRAIN_QUEUED)
    deadline = time.monotonic() + (settings.EVENT_DRAIN_SECONDS if seconds is None else seconds)
    taken = 0
    while True:
        batch = _process_batch(settings.EVENT_PROCESS_BATCH)
        taken += batch
        if batch < settings.EVENT_PROCESS_BATCH:
            return taken
        if time.monotonic() > deadline:
            _kick_processing()
            return taken


def event_process_again(*, event: Event, actor: Actor) -> None:
    """A failed event: clear its error and enqueue it once more."""
    with transaction.atomic():
        if not Event.objects.filter(pk=event.pk, processed_at__isnull=True).exclude(error="").update(error=""):
            raise EventError("Only an event that failed to process can be processed again.")
        audit_record(actor=actor, kind=Kind.EVENT_PROCESSED_AGAIN, obj=event,
                     summary=f"Event {event.event_id} ({event.event_type or 'unknown type'}) processed again")
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


# --- subscriptions ----------------------------------------------------------------------------------


def callback_url(subscription: Subscription) -> str:
    """The console's own URL for this subscription, as Kaizala reaches it (PUBLIC_BASE_URL)."""
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("events:receiver", args=[subscription.key])


def callback_context(subscription: Subscription) -> str:
    return f"kaizala-console subscription {subscription.key}"


def public_url_warning() -> str:
    """Why Kaizala would refuse the callback URL, or "": it requires https; the sandbox takes http to loopback."""
    base = settings.PUBLIC_BASE_URL
    if not base:
        return "PUBLIC_BASE_URL is not set: Kaizala would have no address to deliver events to."
    if not base.startswith("https://") and not settings.KAIZALA_SANDBOX_URL:
        return f"PUBLIC_BASE_URL ({base}) is not https: Kaizala delivers webhooks to https addresses only."
    return ""


def subscription_create(*, group, actor: Actor) -> Subscription:
    """Listen to a group: a subscription `creating`, whose webhook a worker creates at Kaizala."""
    import secrets

    from groups.models import Group

    if not settings.PUBLIC_BASE_URL:
        raise EventError("Set PUBLIC_BASE_URL (the console's address as Kaizala reaches it) first.")
    if group.state != Group.State.ACTIVE or not group.kaizala_id:
        raise EventError("Only an active group can be listened to.")
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(group=group, callback_token=secrets.token_urlsafe(32))
            audit_record(actor=actor, kind=Kind.LISTENING_STARTED, obj=group,
                         summary=f"Listening to group “{group.name}” started")
            transaction.on_commit(lambda: _enqueue("create_webhook", subscription.pk))
    except IntegrityError:
        raise EventError("This group is already listened to.") from None
    return subscription


def _enqueue(task_name: str, subscription_id: int) -> None:
    from events import tasks

    getattr(tasks, task_name).delay(subscription_id)


def subscription_create_run(subscription_id: int, *, attempt: int = 0) -> None:
    """Create the Kaizala webhook (Kaizala checks the callback URL with its handshake first)."""
    from groups.kaizala_calls import CallFailed, TryAgain, run

    subscription = Subscription.objects.select_related("group__phone_user").filter(pk=subscription_id).first()
    if subscription is None or subscription.state != State.CREATING:
        return
    group = subscription.group
    try:
        webhook_id = run(group.phone_user, lambda c: c.create_webhook(
            group.kaizala_id, "Group", GROUP_EVENT_TYPES, callback_url(subscription),
            callback_token=subscription.callback_token, callback_context=callback_context(subscription),
        ), attempt=attempt)
    except TryAgain as again:
        Subscription.objects.filter(pk=subscription_id).update(
            last_error=f"{again.message} Trying again in {round(again.delay)} s."[:500])
        raise
    except CallFailed as failed:
        _transition(subscription_id, [State.CREATING], State.FAILED, last_error=failed.message[:500])
        # Stopped while it was being created, and nothing was created: nothing is left to remove.
        _transition(subscription_id, [State.REMOVING], State.REMOVED, removed_at=timezone.now())
        return
    if not _transition(subscription_id, [State.CREATING], State.ACTIVE, webhook_id=webhook_id, last_error="",
                       activated_at=timezone.now()):
        # Stopped while it was being created: the webhook exists at Kaizala now, so it is removed too.
        Subscription.objects.filter(pk=subscription_id, webhook_id="").update(webhook_id=webhook_id)
        if Subscription.objects.filter(pk=subscription_id, state=State.REMOVING).exists():
            transaction.on_commit(lambda: _enqueue("delete_webhook", subscription_id))


def subscription_remove(*, subscription: Subscription, actor: Actor) -> None:
    """Stop listening: the worker deletes the Kaizala webhook, then the subscription is `removed`."""
    with transaction.atomic():
        audit_record(actor=actor, kind=Kind.LISTENING_STOPPED, object_type="group",
                     object_id=str(subscription.group_id),
                     summary=f"Listening to group {subscription.group_id} stopped")
        # A failed one without a webhook at Kaizala has nothing to delete there.
        if Subscription.objects.filter(pk=subscription.pk, state=State.FAILED, webhook_id="").update(
                state=State.REMOVED, state_changed_at=timezone.now(), removed_at=timezone.now()):
            return
        if not _transition(subscription.pk, [State.ACTIVE, State.DISABLED, State.CREATING, State.FAILED],
                           State.REMOVING):
            raise EventError("This subscription is already removed or being removed.")
        transaction.on_commit(lambda: _enqueue("delete_webhook", subscription.pk))


def subscription_remove_run(subscription_id: int, *, attempt: int = 0) -> None:
    import kaizala
    from groups.kaizala_calls import CallFailed, TryAgain, run

    subscription = Subscription.objects.select_related("group__phone_user").filter(pk=subscription_id).first()
    if subscription is None or subscription.state != State.REMOVING:
        return
    if not subscription.webhook_id:
        return  # still being created: subscription_create_run removes it when Kaizala answers
    try:
        run(subscription.group.phone_user, lambda c: c.delete_webhook(subscription.webhook_id), attempt=attempt)
    except TryAgain as again:
        Subscription.objects.filter(pk=subscription_id).update(
            last_error=f"{again.message} Trying again in {round(again.delay)} s."[:500])
        raise
    except CallFailed as failed:
        if not isinstance(failed.error, kaizala.NotFound):  # gone already is what was wanted
            _transition(subscription_id, [State.REMOVING], State.FAILED, last_error=(
                f"Removing the webhook at Kaizala failed: {failed.message} Stop listening again to retry.")[:500])
            return
    _transition(subscription_id, [State.REMOVING], State.REMOVED, removed_at=timezone.now(), last_error="")


def subscription_note_refusal(subscription: Subscription | Receiving) -> None:
    """The receiver refused a delivery (bad token or body): a disable that follows was not the console failing.
    At most one write a minute per subscription, so a flood of forged requests is not a flood of writes."""
    from django.db.models import Q

    now = timezone.now()
    Subscription.objects.filter(Q(last_refused_at__isnull=True) | Q(last_refused_at__lt=now - timedelta(minutes=1)),
                                pk=subscription.pk).update(last_refused_at=now)


def subscriptions_check() -> dict:
    """The periodic check: listen to every active group when EVENTS_LISTEN_TO_ALL_GROUPS is on, and enqueue
    a look at each live webhook in Kaizala's list (disabled ones are found there)."""
    from groups.models import Group

    created = 0
    if settings.EVENTS_LISTEN_TO_ALL_GROUPS and settings.PUBLIC_BASE_URL:
        unheard = Group.objects.filter(state=Group.State.ACTIVE, missing_since__isnull=True).exclude(
            kaizala_id="").exclude(subscriptions__state__in=Subscription.RECEIVING)
        for group in unheard.only("id", "state", "kaizala_id")[:settings.EVENT_SWEEP_BATCH]:
            try:
                subscription_create(group=group, actor=SYSTEM)
                created += 1
            except EventError:
                pass  # listened to meanwhile
    checked = list(Subscription.objects.filter(state__in=[State.ACTIVE, State.DISABLED]).exclude(webhook_id="")
                   .values_list("pk", flat=True))
    for pk in checked:
        _enqueue("check_webhook", pk)
    return {"created": created, "checked": len(checked)}


def subscription_check_run(subscription_id: int, *, attempt: int = 0) -> None:
    """Compare one subscription with Kaizala's list: disabled there → `disabled` here (re-enabled at once
    when EVENTS_REENABLE_AUTOMATICALLY and the console refused nothing since it was activated: then the
    failed deliveries were the console being down or answering 503); active there again → `active`."""
    from groups.kaizala_calls import CallFailed, run

    subscription = Subscription.objects.select_related("group__phone_user").filter(pk=subscription_id).first()
    if subscription is None or subscription.state not in (State.ACTIVE, State.DISABLED):
        return
    try:
        hooks = run(subscription.group.phone_user,
                    lambda c: c.list_webhooks(subscription.group.kaizala_id, "Group"), attempt=attempt)
    except CallFailed as failed:
        Subscription.objects.filter(pk=subscription_id).update(
            last_error=f"Checking the webhook at Kaizala failed: {failed.message}"[:500])
        return
    now = timezone.now()
    hook = next((h for h in hooks if h.webhook_id == subscription.webhook_id), None)
    if hook is None:
        _transition(subscription_id, [State.ACTIVE, State.DISABLED], State.FAILED, checked_at=now,
                    last_error="Kaizala no longer has this webhook; listen to the group again.")
    elif hook.active is False:
        disabled = subscription.state == State.DISABLED or _transition(
            subscription_id, [State.ACTIVE], State.DISABLED, disabled_at=now, checked_at=now,
            last_error="Kaizala stopped delivering after failed deliveries.")
        refused = subscription.last_refused_at
        if disabled and settings.EVENTS_REENABLE_AUTOMATICALLY and (
                refused is None or (subscription.activated_at and refused < subscription.activated_at)):
            subscription_reenable_run(subscription_id, attempt=attempt)
    else:
        _transition(subscription_id, [State.DISABLED], State.ACTIVE, activated_at=now, last_error="")
        Subscription.objects.filter(pk=subscription_id).update(checked_at=now)


def subscription_reenable(*, subscription: Subscription, actor: Actor) -> None:
    """The "Listen again" button of a disabled subscription: a worker sends `Active: true` to Kaizala."""
    with transaction.atomic():
        if not Subscription.objects.filter(pk=subscription.pk, state=State.DISABLED).exists():
            raise EventError("Only a subscription Kaizala disabled can be re-enabled.")
        audit_record(actor=actor, kind=Kind.LISTENING_REENABLED, object_type="group",
                     object_id=str(subscription.group_id),
                     summary=f"Listening to group {subscription.group_id} re-enabled")
        transaction.on_commit(lambda: _enqueue("reenable_webhook", subscription.pk))


def subscription_reenable_run(subscription_id: int, *, attempt: int = 0) -> None:
    from groups.kaizala_calls import CallFailed, run

    subscription = Subscription.objects.select_related("group__phone_user").filter(pk=subscription_id).first()
    if subscription is None or subscription.state != State.DISABLED:
        return
    try:
        run(subscription.group.phone_user,
            lambda c: c.update_webhook(subscription.webhook_id, active=True), attempt=attempt)
    except CallFailed as failed:
        Subscription.objects.filter(pk=subscription_id).update(
            last_error=f"Re-enabling the webhook at Kaizala failed: {failed.message}"[:500])
        return
    _transition(subscription_id, [State.DISABLED], State.ACTIVE, activated_at=timezone.now(), last_error="")


# --- replies and the Inbox --------------------------------------------------------------------------


def post_reply(*, group, text: str, post=None, message=None, created_by=None, actor: Actor):
    """Answer a member's post or one of our messages (replyToReferenceId): a Message through messaging's
    services, sent by the same dispatcher. A reply in a public group goes to the people the original
    reached: the post's sender, or the chosen subscribers of our message."""
    from messaging.services import Audience, message_create

    original_reference = (post or message).reference_id
    if not original_reference:
        raise EventError("Kaizala gave no id for this post (or it is not sent yet), so it cannot be answered.")
    audience = Audience()
    if message is not None:
        audience = Audience(to_all_subscribers=message.to_all_subscribers, subscribers=tuple(message.subscribers))
    elif group.is_public and post.sender_phone:
        audience = Audience(subscribers=(post.sender_phone,))
    return message_create(groups=[group], text=text, send_at=None, audience=audience, created_by=created_by,
                          reply_to_reference_id=original_reference, actor=actor)[0]


def inbox_mark_read(*, user, up_to: int) -> None:
    """Everything in the Inbox up to post `up_to` is read for `user` (the mark only moves forward)."""
    with transaction.atomic():
        mark, _ = InboxMark.objects.select_for_update().get_or_create(user=user)
        if up_to > mark.seen_up_to:
            InboxMark.objects.filter(pk=mark.pk).update(seen_up_to=up_to, updated_at=timezone.now())
