"""Callbacks out: events recorded as Delivery rows with the change that caused them, sent by a worker,
signed, retried with back-off, and never sent twice for one event by the console's own retries.

- An event becomes one Delivery per subscribed key, inserted in the transaction of the change (the
  messaging hook runs inside it), so an outcome is never recorded without its deliveries.
- A worker claims a delivery with a compare-and-set (pending → sending): two workers never both send it.
  The sweeper enqueues due deliveries and frees ones whose worker died (sending too long).
- Each POST is signed: `X-Console-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
- A URL must not reach the console's own network: private, loopback and link-local addresses are refused
  at registration and again at each send (DNS may change), unless API_CALLBACK_ALLOW_PRIVATE.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from api.models import ApiKey, Delivery, DeliveryAttempt
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record

log = logging.getLogger(__name__)
State = Delivery.State

# Every event a callback may receive, recorded with `events_record_many`; a key registered without a list
# receives every kind.
EVENT_TYPES = {
    "message.sent": "A message reached Kaizala.",
    "message.failed": "A message failed for good (see last_error).",
    "message.unconfirmed": "A send may or may not have arrived; an operator decides.",
    "message.cancelled": "A message was cancelled before it was sent (by an operator, a key, or with the held "
                         "messages of a deactivated connector).",
    "post.created": "A member posted in a listened-to group (text, attachment or announcement).",
    "action.response": "A member answered an action (poll, survey, job…): Kaizala's response as received.",
}
SIGNATURE_HEADER = "X-Console-Signature"


class CallbackUrlRefused(ValidationError):
    """A callback URL the console will not call: shown to the client, nothing saved or sent."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def check_callback_url(url: str) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to an address inside the console's network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackUrlRefused("A callback URL is http:// or https:// with a host name.")
    if settings.API_CALLBACK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise CallbackUrlRefused(f"The host {parts.hostname[:100]} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise CallbackUrlRefused(
                f"The host {parts.hostname[:100]} is in a private, loopback or link-local network; the console "
                "does not call into its own network.")


def callback_register(*, api_key: ApiKey, url: str, events: list[str] | None = None, actor: Actor) -> str:
    """Set the key's callback URL and a new signing secret (returned: shown once). Re-enables a disabled one."""
    check_callback_url(url)
    unknown = sorted(set(events or ()) - set(EVENT_TYPES))
    if unknown:
        raise CallbackUrlRefused(f"Unknown event types: {', '.join(unknown)}.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        if not ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
                callback_url=url, callback_events=sorted(set(events or ())), callback_secret=secret,
                callback_failures=0, callback_disabled_at=None):
            raise CallbackUrlRefused("This key is revoked.")
        audit_record(actor=actor, kind=Kind.CALLBACK_REGISTERED, obj=api_key,
                     summary=f"Callback of API key {api_key.prefix}… set to {url[:200]}")  # never the secret
    return secret


def callback_unregister(*, api_key: ApiKey, actor: Actor) -> None:
    with transaction.atomic():
        if ApiKey.objects.filter(pk=api_key.pk).exclude(callback_url="").update(
                callback_url="", callback_events=[], callback_secret=""):
            audit_record(actor=actor, kind=Kind.CALLBACK_REMOVED, obj=api_key,
                         summary=f"Callback of API key {api_key.prefix}… removed")


_CALLBACK_KEYS = ApiKey.objects.filter(
    Q(expires_at__isnull=True) | Q(expires_at__gt=Now()), revoked_at__isnull=True, callback_disabled_at__isnull=True,
).exclude(callback_url="").order_by("pk").values_list("pk", "callback_url", "callback_events")


@cache
def _callback_keys_statement() -> tuple[str, tuple]:
    return _CALLBACK_KEYS.query.sql_with_params()


def _callback_keys(event_type: str) -> list[tuple[int, str]]:
    """(id, URL) of each live key subscribed to `event_type`. Every send's outcome comes here: one fixed
    statement (building the ORM query for each was most of the callbacks' share of a send's CPU), its rows
    read as tuples."""
    sql, params = _callback_keys_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    decode = ApiKey._meta.get_field("callback_events").from_db_value  # the column's JSON text: "[]" is no filter
    keys = []
    for pk, url, events in rows:
        subscribed = decode(events, None, connection)
        if not subscribed or event_type in subscribed:
            keys.append((pk, url))
    return keys


def events_record_many(*, event_type: str, items: Iterable[dict], at: datetime) -> int:
    """One Delivery per event and key subscribed to `event_type`, in the caller's transaction; sent after
    commit. One query for the keys, whatever the number of events; `items` is read only when a key is
    subscribed (a generator over rows the caller has not read costs nothing more)."""
    from api.tasks import deliver

    keys = _callback_keys(event_type)
    if not keys:
        return 0
    made = []
    for data in items:
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), "type": event_type, "created_at": at.isoformat(), "data": data}
        made += [Delivery(api_key_id=key_id, event_id=event_id, event_type=event_type, payload=payload,
                          url=url, state_changed_at=at, next_attempt_at=at) for key_id, url in keys]
    rows = Delivery.objects.bulk_create(made)
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: [deliver.delay(pk) for pk in ids])
    return len(ids)


def on_message_status_changed(sender, *, messages, status, changed_at, **kwargs) -> None:
    """messaging.signals.message_status_changed → a `message.<status>` event per message."""

    def items():  # a generator function: `messages` (maybe a queryset) is read only once a key wants them
        for message in messages:
            yield {"message": {
                "id": message.pk, "group": message.group_id, "broadcast_id": str(message.broadcast_id),
                "schedule": message.schedule_id, "status": status, "reference_id": message.reference_id,
                "scheduled_for": message.scheduled_for.isoformat(), "changed_at": changed_at.isoformat(),
            }}

    events_record_many(event_type=f"message.{status}", at=changed_at, items=items())


def on_posts_created(sender, *, posts, **kwargs) -> None:
    """events.signals.posts_created → a `post.created` event per inbound post."""
    events_record_many(event_type="post.created", at=timezone.now(), items=[{"post": {
        "event_id": post.event.event_id, "group": post.group_id, "kind": post.kind, "sender_phone": post.sender_phone,
        "sender_name": post.sender_name, "title": post.title, "text": post.text, "media": post.media,
        "reference_id": post.reference_id, "posted_at": post.posted_at.isoformat(),
    }} for post in posts])


def on_action_responses_received(sender, *, events, **kwargs) -> None:
    """events.signals.action_responses_received → an `action.response` event per response (its data as
    Kaizala sent it: the answers' shape depends on the action)."""
    events_record_many(event_type="action.response", at=timezone.now(), items=[{"response": {
        "event_id": event.event_id, "event_type": event.event_type, "group": event.subscription.group_id,
        "action_id": event.action_id, "from": event.raw.get("fromUser") or "",
        "from_name": event.raw.get("fromUserName") or "", "received_at": event.received_at.isoformat(),
        "data": event.raw.get("data"),
    }} for event in events])


def _move(delivery_id: int, allowed, state: str, **fields) -> bool:
    return bool(Delivery.objects.filter(pk=delivery_id, state__in=list(allowed)).update(
        state=state, state_changed_at=timezone.now(), **fields))


def backoff_seconds(attempt: int) -> float:
    return min(settings.API_CALLBACK_BACKOFF_BASE * 2 ** max(0, attempt - 1), settings.API_CALLBACK_BACKOFF_MAX)


def _post(delivery: Delivery, secret: str) -> tuple[int | None, str]:
    """POST the signed event; (HTTP status, "") or (None, why it could not be sent)."""
    try:
        check_callback_url(delivery.url)
    except CallbackUrlRefused as exc:
        return None, exc.message
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "kaizala-console-callbacks",
               SIGNATURE_HEADER: f"t={timestamp},v1={signature(secret, timestamp, body)}",
               "X-Console-Event": delivery.event_type, "X-Console-Delivery": str(delivery.event_id)}
    try:
        # No redirects: a redirect could lead to an address the check above would refuse.
        response = requests.post(delivery.url, data=body, headers=headers, allow_redirects=False,
                                 timeout=(5, settings.API_CALLBACK_TIMEOUT))
    except requests.Timeout:
        return None, "The receiver did not answer in time."
    except requests.RequestException:
        return None, "The receiver could not be reached."
    return response.status_code, ""


def delivery_send_run(delivery_id: int) -> str | None:
    """Send one due delivery; returns the state it ended in (None when another worker has it or it is not due)."""
    now = timezone.now()
    if not Delivery.objects.filter(pk=delivery_id, state=State.PENDING, next_attempt_at__lte=now).update(
            state=State.SENDING, state_changed_at=now, attempt_count=F("attempt_count") + 1):
        return None
    delivery = Delivery.objects.select_related("api_key").get(pk=delivery_id)
    if delivery.api_key.revoked_at or not delivery.api_key.callback_secret:
        _move(delivery.pk, [State.SENDING], State.FAILED, last_error="The key was revoked or its callback removed.")
        return State.FAILED
    started = time.monotonic()
    status, error = _post(delivery, delivery.api_key.callback_secret)
    took = round((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    if status is not None and not ok:
        error = f"The receiver answered {status}."
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery=delivery, started_at=now, duration_ms=took, status_code=status,
                                       error=error)
        if ok:
            _move(delivery.pk, [State.SENDING], State.DELIVERED, last_status=status, last_error="",
                  delivered_at=timezone.now())
            ApiKey.objects.filter(pk=delivery.api_key_id).exclude(callback_failures=0).update(callback_failures=0)
            return State.DELIVERED
        if delivery.attempt_count < settings.API_CALLBACK_MAX_ATTEMPTS:
            _move(delivery.pk, [State.SENDING], State.PENDING, last_status=status, last_error=error,
                  next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(delivery.attempt_count)))
            return State.PENDING
        _move(delivery.pk, [State.SENDING], State.FAILED, last_status=status,
              last_error=f"Gave up after {delivery.attempt_count} attempts. {error}")
        ApiKey.objects.filter(pk=delivery.api_key_id).update(callback_failures=F("callback_failures") + 1)
        ApiKey.objects.filter(pk=delivery.api_key_id, callback_disabled_at__isnull=True,
                              callback_failures__gte=settings.API_CALLBACK_DISABLE_AFTER).update(
            callback_disabled_at=timezone.now())
    return State.FAILED


def deliveries_sweep(now: datetime | None = None) -> dict:
    """Enqueue every due delivery (a lost task or a back-off that ended) and free those whose worker died."""
    from api.tasks import deliver

    now = now or timezone.now()
    freed = Delivery.objects.filter(
        state=State.SENDING, state_changed_at__lt=now - timedelta(seconds=settings.API_CALLBACK_SENDING_TIMEOUT),
    ).update(state=State.PENDING, state_changed_at=now, next_attempt_at=now)
    due = list(Delivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:500])
    for pk in due:
        deliver.delay(pk)
    return {"enqueued": len(due), "freed": freed}


def delivery_replay(*, delivery: Delivery, actor: Actor) -> None:
    """Send a delivered or failed event again, now (an operator's decision: the receiver may see it twice)."""
    from api.tasks import deliver

    with transaction.atomic():
        if not _move(delivery.pk, [State.DELIVERED, State.FAILED], State.PENDING, next_attempt_at=timezone.now(),
                     attempt_count=0):
            raise ValidationError("This delivery is still pending or being sent.")
        audit_record(actor=actor, kind=Kind.DELIVERY_REPLAYED, obj=delivery,
                     summary=f"Delivery {delivery.pk} ({delivery.event_type}) sent again")
        transaction.on_commit(lambda: deliver.delay(delivery.pk))
