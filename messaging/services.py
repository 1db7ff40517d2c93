"""Every write about messages and schedules: compose, the dispatcher, sending, retries, the sweeper.

Rules that keep a message from being lost or sent twice:
- the database is the source of truth; the broker only carries message ids, and the dispatcher and the
  sweeper find any work the broker lost;
- every status change is a compare-and-set (`filter(pk=…, status=…).update(…)`): only the worker
  that moves a message from `queued` to `sending` may send it;
- work is enqueued after commit (`transaction.on_commit`);
- a send that may have reached Kaizala (read timeout, dropped connection, 500, garbage answer) is
  `unconfirmed` and never re-sent automatically: the operator decides;
- nothing goes out through a deactivated connector: its due messages are `held` (by the dispatcher, and
  again by the send itself, which re-reads the connector), and go out once it is active again.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

import kaizala
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record, audit_record_many
from connectors import kaizala_access
from connectors.models import ApiCall, Connector, PhoneUser
from connectors.services import ConnectorInactive, ReauthRequired, describe_error
from groups.models import Group
from kaizala_console import metrics
from kaizala_console.wake import dispatcher_wake_on_commit
from messaging import cards
from messaging.models import Attempt, MediaFile, Message, Schedule
from messaging.recurrence import Rule, next_fire
from messaging.signals import message_status_changed

log = logging.getLogger(__name__)
Status = Message.Status
CLAIMABLE = [Status.SCHEDULED, Status.RETRYING]
# An EXISTS in the message's own WHERE (not a join), so that a compare-and-set on the status stays a plain
# UPDATE of the message row, which PostgreSQL re-checks after waiting for a concurrent update.
_CONNECTOR_ACTIVE = Exists(Connector.objects.filter(is_active=True, phone_users__groups=OuterRef("group_id")))
HOLD_REASON = ("Its group's connector is deactivated: it waits, and goes out when the connector is reactivated "
               "(or cancel it).")
# The outcomes of a send; other apps hear of them, and of a cancellation (messaging.signals).
OUTCOMES = (Status.SENT, Status.FAILED, Status.UNCONFIRMED)
ANNOUNCED = (*OUTCOMES, Status.CANCELLED)
# Retried with back-off: the request did not take effect, or the server said to come back.
RETRY_STATUSES = {502, 503, 504}


class ComposeError(ValidationError):
    """A compose or edit the console refuses: shown in the page, nothing saved."""


# --- compose ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    to_all_subscribers: bool = False
    subscribers: tuple[str, ...] = ()


def check_groups_sendable(groups) -> None:
    problems = []
    # Read afresh: the rows a form validated may be stale (a connector deactivated meanwhile, say). Only the
    # columns checked: the phone user's and the connector's secrets would each be decrypted.
    for group in (Group.objects.filter(pk__in=[g.pk for g in groups]).select_related("phone_user__connector")
                  .only("name", "state", "missing_since", "phone_user__state", "phone_user__mobile_number",
                        "phone_user__connector__name", "phone_user__connector__is_active")):
        phone_user = group.phone_user
        if group.missing_since:
            problems.append(f"“{group.name}” is no longer at Kaizala")
        elif group.state != Group.State.ACTIVE:
            problems.append(f"“{group.name}” is {group.get_state_display().lower()}")
        elif not phone_user.connector.is_active:
            problems.append(f"the connector of “{group.name}” ({phone_user.connector.name}) is deactivated")
        elif phone_user.state == PhoneUser.State.REAUTH_REQUIRED:
            problems.append(f"the phone user of “{group.name}” ({phone_user.mobile_number}) needs re-authentication")
        elif phone_user.state != PhoneUser.State.ACTIVE:
            problems.append(f"the phone user of “{group.name}” is not active")
    if problems:
        raise ComposeError("Cannot send: " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class Upload:
    """A file to post, already checked (messaging.media.check_upload): it is stored with the message."""

    name: str
    data: bytes
    content_type: str


def check_card(*, kind: str, card: dict, groups, upload: Upload | None, has_file: bool = False) -> None:
    """The rules of a card that need the database or hold for every caller (form or API): a job's assignees
    are members of every group it goes to; a media post has its file (`upload`, or one it has)."""
    if cards.needs_file(kind) and upload is None and not has_file:
        raise ComposeError(f"Choose the {kind} file to post.")
    if kind == Message.Kind.JOB:
        assignees = list(card.get("assignees") or [])
        if not assignees:
            raise ComposeError("Assign the job to at least one member.")
        from groups.models import GroupMember

        members = set(GroupMember.objects.filter(
            group__in=[g.pk for g in groups], mobile_number__in=assignees, state=GroupMember.State.ADDED,
        ).values_list("group_id", "mobile_number"))
        missing = [f"{phone} is not a member of “{g.name}”" for g in groups for phone in assignees
                   if (g.pk, phone) not in members]
        if missing:
            raise ComposeError("A job goes to members of its group: " + "; ".join(missing[:5]) + ".")


def _store_upload(upload: Upload | None, created_by) -> MediaFile | None:
    if upload is None:
        return None
    from django.core.files.base import ContentFile

    media = MediaFile(name=upload.name[:255], content_type=upload.content_type, size=len(upload.data),
                      created_by=created_by)
    media.file.save(upload.name, ContentFile(upload.data), save=False)
    media.save()
    return media


def media_orphans_delete(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete stored files that no MediaFile names: a compose writes its file before its transaction
    commits, so one that rolled back (a refused API create, a crash) leaves the file alone on disk. Only
    files older than `older_than`: a compose still in progress has not committed its row yet."""
    field = MediaFile._meta.get_field("file")
    root = Path(field.storage.path("")) / field.upload_to.split("%")[0]
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    found = {path.relative_to(field.storage.path("")).as_posix(): path
             for path in root.rglob("*") if path.is_file() and path.stat().st_mtime < cutoff}
    names = list(found)
    known = set()
    for start in range(0, len(names), 1000):
        known.update(MediaFile.objects.filter(file__in=names[start:start + 1000]).values_list("file", flat=True))
    orphans = [path for name, path in found.items() if name not in known]
    for path in orphans:
        path.unlink(missing_ok=True)
    if orphans:
        log.info("Deleted %d stored files no message names (composes that rolled back)", len(orphans))
    return len(orphans)


def message_create(
    *, groups, text: str = "", send_at: datetime | None, audience: Audience = Audience(), created_by=None,
    reply_to_reference_id: str = "", kind: str = Message.Kind.TEXT, card: dict | None = None,
    upload: Upload | None = None, actor: Actor,
) -> list[Message]:
    """Send now (`send_at` None) or once at `send_at`: one message per group, sharing a broadcast id.
    `kind` and `card` say what it posts (messaging.cards); a media post's file is `upload`.

    Messages due now are left to the dispatcher, woken after commit, so one path handles every send.
    """
    check_groups_sendable(groups)
    card = card or {}
    check_card(kind=kind, card=card, groups=groups, upload=upload)
    text = cards.summary(kind, card, text)
    now = timezone.now()
    due = send_at or now
    if send_at is not None and send_at <= now:
        raise ComposeError("That time is in the past; choose a time in the future, or send now.")
    broadcast = uuid.uuid4()
    # No savepoint inside a caller's transaction (the API's idempotency claim): the checks that refuse are
    # above, so a failure here is the database's, and it rolls the caller's transaction back with it.
    with transaction.atomic(savepoint=False):
        media = _store_upload(upload, created_by)
        messages = Message.objects.bulk_create([
            Message(
                group=group, text=text, kind=kind, card=card, media=media,
                to_all_subscribers=audience.to_all_subscribers,
                subscribers=list(audience.subscribers), broadcast_id=broadcast, status=Status.SCHEDULED,
                due_at=due, scheduled_for=due, status_changed_at=now, created_by=created_by,
                reply_to_reference_id=reply_to_reference_id,
            )
            for group in groups
        ])
        dispatcher_wake_on_commit()
        when = "to send now" if send_at is None else f"for {send_at:%Y-%m-%d %H:%M %Z}"
        audit_record_many(actor=actor, kind=Kind.MESSAGE_COMPOSED, objects=[
            (message, f"Message {message.pk} to “{message.group.name}” composed {when}") for message in messages])
        return messages


def schedule_create(
    *, groups, text: str = "", rule: Rule, audience: Audience = Audience(), created_by=None,
    kind: str = Message.Kind.TEXT, card: dict | None = None, upload: Upload | None = None, actor: Actor
) -> Schedule:
    """A recurrence; each fire makes one message per group with the schedule's kind, card and file."""
    check_groups_sendable(groups)
    card = card or {}
    check_card(kind=kind, card=card, groups=groups, upload=upload)
    text = cards.summary(kind, card, text)
    first = next_fire(rule, timezone.now())
    if first is None:
        raise ComposeError("This recurrence never fires: check its days and its end date.")
    with transaction.atomic():
        schedule = Schedule.objects.create(
            text=text, kind=kind, card=card, media=_store_upload(upload, created_by),
            to_all_subscribers=audience.to_all_subscribers, subscribers=list(audience.subscribers),
            frequency=rule.frequency, weekdays=list(rule.weekdays), day_of_month=rule.day_of_month,
            local_time=rule.local_time, time_zone=rule.time_zone, start_date=rule.start_date,
            end_date=rule.end_date, next_fire_at=first, created_by=created_by,
        )
        schedule.groups.set(groups)
        dispatcher_wake_on_commit()
        audit_record(actor=actor, kind=Kind.SCHEDULE_CREATED, obj=schedule,
                     summary=f"Schedule {schedule.pk} ({rule.frequency} at {rule.local_time} {rule.time_zone}) created "
                             f"for {', '.join(f'“{g.name}”' for g in groups)}")
    return schedule


def schedule_edit(*, schedule: Schedule, groups, text: str, rule: Rule, audience: Audience = Audience(),
                  card: dict | None = None, upload: Upload | None = None, actor: Actor) -> None:
    """Change an active or paused schedule's content (its kind stays: `text`, or `card` and a new file in
    `upload`), groups, audience and rule; its next fire follows the new rule. Messages it already created
    are left as they are."""
    check_groups_sendable(groups)
    card = card or {}
    check_card(kind=schedule.kind, card=card, groups=groups, upload=upload, has_file=schedule.media_id is not None)
    text = cards.summary(schedule.kind, card, text)
    first = next_fire(rule, timezone.now())
    if first is None:
        raise ComposeError("This recurrence never fires: check its days and its end date.")
    with transaction.atomic():
        media = _store_upload(upload, None) or schedule.media
        if not Schedule.objects.filter(pk=schedule.pk, state__in=[Schedule.State.ACTIVE, Schedule.State.PAUSED]).update(
            text=text, card=card, media=media, to_all_subscribers=audience.to_all_subscribers,
            subscribers=list(audience.subscribers), frequency=rule.frequency, weekdays=list(rule.weekdays),
            day_of_month=rule.day_of_month, local_time=rule.local_time, start_date=rule.start_date,
            end_date=rule.end_date, next_fire_at=first, updated_at=timezone.now(),
        ):
            raise ComposeError("This schedule has ended; an ended schedule cannot be edited.")
        schedule.groups.set(groups)
        dispatcher_wake_on_commit()
        changes = {name: (before, after) for name, before, after in (
            ("text", schedule.text, text), ("content", schedule.card, card),
            ("file", schedule.media and schedule.media.name, media and media.name),
            ("rule", schedule_rule(schedule), rule)) if before != after}
        audit_record(actor=actor, kind=Kind.SCHEDULE_EDITED, obj=schedule, summary=f"Schedule {schedule.pk} edited",
                     changes=changes)


def schedule_rule(schedule: Schedule) -> Rule:
    return Rule(
        frequency=schedule.frequency, local_time=schedule.local_time, time_zone=schedule.time_zone,
        start_date=schedule.start_date, end_date=schedule.end_date, weekdays=tuple(schedule.weekdays),
        day_of_month=schedule.day_of_month,
    )


def schedule_set_state(*, schedule: Schedule, state: str, actor: Actor) -> None:
    allowed = {
        Schedule.State.PAUSED: [Schedule.State.ACTIVE],
        Schedule.State.ACTIVE: [Schedule.State.PAUSED],
        Schedule.State.ENDED: [Schedule.State.ACTIVE, Schedule.State.PAUSED],
    }[state]
    fields = {"state": state, "updated_at": timezone.now()}
    if state == Schedule.State.ACTIVE:
        # Resuming never replays the fires missed while paused.
        fields["next_fire_at"] = next_fire(schedule_rule(schedule), timezone.now())
        if fields["next_fire_at"] is None:
            fields["state"] = Schedule.State.ENDED
    with transaction.atomic():
        if not Schedule.objects.filter(pk=schedule.pk, state__in=allowed).update(**fields):
            raise ComposeError(
                f"This schedule is {schedule.get_state_display().lower()}; it cannot be changed that way.")
        if fields["state"] == Schedule.State.ACTIVE:
            dispatcher_wake_on_commit()
        kind = {Schedule.State.PAUSED: Kind.SCHEDULE_PAUSED, Schedule.State.ACTIVE: Kind.SCHEDULE_RESUMED,
                Schedule.State.ENDED: Kind.SCHEDULE_ENDED}[state]
        audit_record(actor=actor, kind=kind, obj=schedule, summary=f"Schedule {schedule.pk} {kind.label.split()[-1]}",
                     changes={"state": (schedule.state, fields["state"])})


# --- operator actions on one message ------------------------------------------------------------------


def _move(message_id: int, from_statuses, to_status: str, **fields) -> bool:
    """Compare-and-set: move the message only if it is still in one of `from_statuses`."""
    return bool(
        Message.objects.filter(pk=message_id, status__in=list(from_statuses)).update(
            status=to_status, status_changed_at=timezone.now(), **fields
        )
    )


def _audited(actor: Actor, kind: str, message: Message, moved: bool, refusal: str, changes=None) -> None:
    """Record an operator's move of one message, or refuse it (the caller's transaction rolls nothing back:
    nothing moved)."""
    if not moved:
        raise ComposeError(refusal)
    what = Kind(kind).label.split(maxsplit=1)[1]  # "Message cancelled" → "cancelled"
    audit_record(actor=actor, kind=kind, obj=message, summary=f"Message {message.pk} {what}", changes=changes)


def _action_rule(action: str) -> tuple[list[str], str, dict]:
    """(from statuses, to status, other fields) of an operator action: one table for one message and many."""
    now = timezone.now()
    if action == "cancel":
        return [Status.SCHEDULED, Status.RETRYING, Status.HELD], Status.CANCELLED, {"hold_reason": ""}
    if action == "retry":
        # A failed message, or an unconfirmed one the operator decided to send again: due now.
        return [Status.FAILED, Status.UNCONFIRMED], Status.SCHEDULED, {"due_at": now, "attempt_count": 0,
                                                                      "last_error": ""}
    if action == "mark-sent":
        # The operator checked that an unconfirmed message did arrive.
        return [Status.UNCONFIRMED], Status.SENT, {"sent_at": now, "last_error": "Marked as sent by an operator."}
    raise ValidationError(f"No such action: {action[:40]}.")



def message_cancel(*, message: Message, actor: Actor) -> None:
    with transaction.atomic():
        froms, to, fields = _action_rule("cancel")
        _audited(actor, Kind.MESSAGE_CANCELLED, message, _move(message.pk, froms, to, **fields),
                 "Only a scheduled, retrying or held message can be cancelled; this one has moved on.")
        _announce([message], to, timezone.now())


def message_edit(*, message: Message, text: str = "", send_at: datetime, card: dict | None = None,
                 upload: Upload | None = None, actor: Actor) -> None:
    """Change a scheduled message's content (its kind stays: `text`, or `card` and a new file in `upload`)
    and its time."""
    if send_at <= timezone.now():
        raise ComposeError("That time is in the past; choose a time in the future.")
    card = card or {}
    check_card(kind=message.kind, card=card, groups=[message.group], upload=upload,
               has_file=message.media_id is not None)
    text = cards.summary(message.kind, card, text)
    with transaction.atomic():
        media = _store_upload(upload, None) or message.media
        changes = {name: (before, after) for name, before, after in (
            ("text", message.text, text), ("content", message.card, card),
            ("file", message.media and message.media.name, media and media.name),
            ("send at", message.scheduled_for, send_at)) if before != after}
        _audited(actor, Kind.MESSAGE_EDITED, message, bool(Message.objects.filter(
            pk=message.pk, status=Status.SCHEDULED).update(
            text=text, card=card, media=media, due_at=send_at, scheduled_for=send_at,
            status_changed_at=timezone.now())),
            "Only a scheduled message can be edited; this one has moved on.", changes)
        dispatcher_wake_on_commit()


def message_retry(*, message: Message, actor: Actor) -> None:
    froms, to, fields = _action_rule("retry")
    with transaction.atomic():
        _audited(actor, Kind.MESSAGE_RETRIED, message, _move(message.pk, froms, to, **fields),
                 "Only a failed or unconfirmed message can be sent again.")
        dispatcher_wake_on_commit()


def message_mark_sent(*, message: Message, actor: Actor) -> None:
    froms, to, fields = _action_rule("mark-sent")
    with transaction.atomic():
        _audited(actor, Kind.MESSAGE_MARKED_SENT, message, _move(message.pk, froms, to, **fields),
                 "Only an unconfirmed message can be marked as sent.")
        _announce([message], to, fields["sent_at"])


def _announce(messages, status: str, changed_at: datetime) -> None:
    """Tell subscribers (API callbacks) that `messages` (a list, or a queryset read only if a subscriber
    wants the rows) moved into `status`, in the caller's transaction and only for rows its compare-and-set
    moved; one signal for them all. A retried message reaches no announced state (its send will)."""
    if status in ANNOUNCED:
        message_status_changed.send(sender=Message, messages=messages, status=status, changed_at=changed_at)


# --- operator actions on many messages ----------------------------------------------------------------

# The bulk actions: what each does to a row it applies to, and which rows it applies to (for the rest).
BULK_ACTIONS = {
    "cancel": ("cancelled", "only a scheduled, retrying or held message can be cancelled"),
    "retry": ("will be sent again", "only a failed or unconfirmed message can be sent again"),
    "mark-sent": ("marked as sent", "only an unconfirmed message can be marked as sent"),
}
MAX_BULK = 5000


@dataclass(frozen=True)
class BulkOutcome:
    pk: int
    group_name: str
    status_before: str  # its status label when the action ran ("" when there is no such message)
    done: bool
    detail: str


def bulk_applies_to(action: str) -> list[str]:
    """The statuses of the messages a bulk action moves (the rest it leaves alone)."""
    return _action_rule(action)[0]


@transaction.atomic
def messages_bulk_act(*, action: str, message_ids, actor: Actor) -> list[BulkOutcome]:
    """Apply an operator action to many messages; what happened to each, in the order given.

    Per row it is the compare-and-set of the one-message action (a row that has moved on is left alone),
    done for all rows at once: the chosen rows are locked and read in one query, and those still in a
    status the action applies to are moved in one UPDATE that checks the status again. The query count does
    not grow with the rows.
    """
    froms, to, fields = _action_rule(action)
    ids = list(dict.fromkeys(int(pk) for pk in message_ids))
    if not ids:
        raise ComposeError("Choose at least one message.")
    if len(ids) > MAX_BULK:
        raise ComposeError(f"Choose at most {MAX_BULK} messages at a time.")
    done, refusal = BULK_ACTIONS[action]
    # Locked in id order, so two bulk requests over the same rows cannot deadlock (a no-op on SQLite, whose
    # write transactions are serialised). The dispatcher claims with SKIP LOCKED: it passes these rows by.
    rows = {pk: (status, group_name) for pk, status, group_name in Message.objects.select_for_update(
        of=("self",)).filter(pk__in=ids).order_by("pk").values_list("pk", "status", "group__name")}
    movable = [pk for pk, (status, _) in rows.items() if status in froms]
    if movable:
        Message.objects.filter(pk__in=movable, status__in=froms).update(
            status=to, status_changed_at=timezone.now(), **fields)
        # The rows are locked: exactly these moved (read again only if a subscriber wants them).
        _announce(Message.objects.filter(pk__in=movable).order_by("pk"), to, timezone.now())
        kind = {"cancel": Kind.MESSAGE_CANCELLED, "retry": Kind.MESSAGE_RETRIED,
                "mark-sent": Kind.MESSAGE_MARKED_SENT}[action]
        audit_record_many(actor=actor, kind=kind, objects=[
            (Message(pk=pk), f"Message {pk} {done} (one of {len(movable)} in a bulk action)") for pk in movable])
        if action == "retry":
            dispatcher_wake_on_commit()
    labels = dict(Status.choices)
    outcomes = []
    for pk in ids:
        if pk not in rows:
            outcomes.append(BulkOutcome(pk, "", "", False, "No such message."))
            continue
        status, group_name = rows[pk]
        moved = status in froms
        outcomes.append(BulkOutcome(pk, group_name, labels[status], moved,
                                    done.capitalize() + "." if moved else f"Left alone: {refusal}."))
    return outcomes


# --- the dispatcher -----------------------------------------------------------------------------------


def _lock_skipping_taken(queryset):
    # PostgreSQL: concurrent dispatchers take disjoint rows. SQLite has no row locks; its write
    # transactions are serialised (BEGIN IMMEDIATE in settings), which gives the same guarantee.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def schedules_fire_due(now: datetime | None = None) -> int:
    """Create the messages of every recurring fire that is due; returns how many were created."""
    now = now or timezone.now()
    created = 0
    with transaction.atomic():
        due = list(_lock_skipping_taken(
            Schedule.objects.filter(state=Schedule.State.ACTIVE, next_fire_at__lte=now)
        ).order_by("next_fire_at")[:100])
        for schedule in due:
            fire_at = schedule.next_fire_at
            for group in schedule.groups.all():
                _, made = Message.objects.get_or_create(
                    schedule=schedule, group=group, scheduled_for=fire_at,
                    defaults={
                        "text": schedule.text, "kind": schedule.kind, "card": schedule.card,
                        "media_id": schedule.media_id, "to_all_subscribers": schedule.to_all_subscribers,
                        "subscribers": schedule.subscribers, "broadcast_id": _fire_broadcast_id(schedule, fire_at),
                        "status": Status.SCHEDULED, "due_at": fire_at, "status_changed_at": now,
                        "created_by_id": schedule.created_by_id,
                    },
                )
                created += made
            # After downtime, fire once and then resume from now, rather than replaying every missed fire.
            upcoming = next_fire(schedule_rule(schedule), max(fire_at, now))
            Schedule.objects.filter(pk=schedule.pk, state=Schedule.State.ACTIVE, next_fire_at=fire_at).update(
                next_fire_at=upcoming, fire_count=F("fire_count") + 1, updated_at=now,
                state=Schedule.State.ACTIVE if upcoming else Schedule.State.ENDED,
            )
    return created


def _fire_broadcast_id(schedule: Schedule, fire_at: datetime) -> uuid.UUID:
    # The same for every group of one fire, however many dispatchers compute it.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"kaizala-console:schedule:{schedule.pk}:{fire_at.isoformat()}")


def messages_claim_due(now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Move due messages to `queued` and enqueue their sends after commit. Messages of a phone user
    who needs re-authentication are left waiting: they go out once it is onboarded again. Messages of a
    deactivated connector are held instead, and released when it is active again."""
    from messaging.tasks import send_message

    now = now or timezone.now()
    limit = limit or settings.DISPATCH_BATCH
    with transaction.atomic():
        messages_hold_and_release(now=now, limit=limit)
        ids = list(_lock_skipping_taken(
            Message.objects.filter(status__in=CLAIMABLE, due_at__lte=now,
                                   group__phone_user__state=PhoneUser.State.ACTIVE,
                                   group__phone_user__connector__is_active=True)
        ).order_by("due_at").values_list("pk", flat=True)[:limit])
        if ids:
            Message.objects.filter(pk__in=ids, status__in=CLAIMABLE).update(status=Status.QUEUED, status_changed_at=now)
            transaction.on_commit(lambda: _enqueue(send_message, ids))
    return ids


def messages_hold_and_release(*, now: datetime, limit: int) -> tuple[int, int]:
    """Hold the due messages of deactivated connectors; put the held messages of connectors that are active
    again back to `scheduled` (still due, so the same tick claims them). Returns (held, released)."""
    held = released = 0
    # The common case, no deactivated connector, costs one small query instead of a scan of the due rows.
    if Connector.objects.filter(is_active=False).exists():
        ids = list(_lock_skipping_taken(
            Message.objects.filter(status__in=CLAIMABLE, due_at__lte=now, group__phone_user__connector__is_active=False)
        ).values_list("pk", flat=True)[:limit])
        if ids:
            held = Message.objects.filter(pk__in=ids, status__in=CLAIMABLE).update(
                status=Status.HELD, status_changed_at=now, hold_reason=HOLD_REASON)
    ids = list(_lock_skipping_taken(
        Message.objects.filter(status=Status.HELD, group__phone_user__connector__is_active=True)
    ).values_list("pk", flat=True)[:limit])
    if ids:
        released = Message.objects.filter(pk__in=ids, status=Status.HELD).update(
            status=Status.SCHEDULED, status_changed_at=now, hold_reason="")
    return held, released


def messages_cancel_held(*, connector: Connector | None = None, actor: Actor) -> int:
    """Cancel every held message (of one connector, or all); returns how many."""
    held = Message.objects.filter(status=Status.HELD)
    if connector is not None:
        held = held.filter(group_id__in=Group.objects.filter(phone_user__connector=connector).values("pk"))
    now = timezone.now()
    with transaction.atomic():
        # Locked, then moved by their ids: the rows announced are exactly the rows moved.
        rows = list(held.select_for_update(of=("self",)).order_by("pk"))
        cancelled = Message.objects.filter(pk__in=[m.pk for m in rows], status=Status.HELD).update(
            status=Status.CANCELLED, status_changed_at=now, hold_reason="",
            last_error="Cancelled while held by a deactivated connector.") if rows else 0
        if rows:
            _announce(rows, Status.CANCELLED, now)
        if cancelled:
            where = f" of connector “{connector.name}”" if connector is not None else ""
            audit_record(actor=actor, kind=Kind.MESSAGE_CANCELLED, obj=connector,
                         summary=f"{cancelled} held message(s){where} cancelled")
    return cancelled


def _enqueue(task, ids) -> None:
    """One task per SEND_TASK_CHUNK messages (measured: per-task broker and pool overhead was a third of a
    worker's CPU per message with one task each; bench/README.md); 1 restores one task per message."""
    from messaging.tasks import send_messages

    chunk = settings.SEND_TASK_CHUNK
    if chunk <= 1 or len(ids) == 1:
        for pk in ids:
            task.delay(pk)
        return
    for start in range(0, len(ids), chunk):
        send_messages.delay(list(ids[start:start + chunk]))


def messages_send_run(message_ids) -> list[str | None]:
    """Send several queued messages one after another; one failing unexpectedly does not stop the rest
    (it stays queued or sending, and the sweeper finds it).

    The transaction that records a message's outcome also claims the next one, so a send costs one commit;
    a message is still claimed only just before its own call (a worker killed mid-chunk leaves at most the
    message it was sending in `sending`). The chunk's call-log rows are written together at the end.
    """
    message_ids = list(message_ids)
    loaded = _load_chunk(message_ids)
    call_log: list = []
    results: list[str | None] = []
    claim = None
    try:
        for index, pk in enumerate(message_ids):
            following = _Claim(message_ids[index + 1]) if index + 1 < len(message_ids) else None
            try:
                results.append(message_send_run(pk, loaded=loaded.get(pk), claim=claim, then_claim=following,
                                                call_log=call_log))
            except Exception:
                log.exception("sending message %s failed unexpectedly; the sweeper will pick it up", pk)
                results.append(None)
                # A claim made in a transaction that then failed was rolled back with it: claim afresh.
                following = None
            claim = following
    finally:
        _write_call_log(call_log)
    return results


def _load_chunk(message_ids) -> dict[int, Message]:
    """The chunk's rows in two queries; each phone user loaded (and its token decrypted) once, shared by its
    messages. A queued message's text and audience no longer change; the token is re-read after a 401."""
    loaded = Message.objects.select_related("group").in_bulk(message_ids)
    phone_users = PhoneUser.objects.select_related("connector").defer(
        "pin", "refresh_token", "connector__application_secret",
    ).in_bulk({message.group.phone_user_id for message in loaded.values()})
    for message in loaded.values():
        message.group.phone_user = phone_users[message.group.phone_user_id]
    return loaded


def _write_call_log(rows: list) -> None:
    if not rows:
        return
    try:
        ApiCall.objects.bulk_create(rows)
    except Exception:
        # A broken call log must not turn the sends it describes into failures (they are recorded already).
        log.exception("writing %d call-log rows failed", len(rows))


def dispatch(now: datetime | None = None) -> int:
    """One dispatcher pass (messaging/dispatcher.py): expand due recurring fires, then claim due messages,
    again while a claim comes back full (at most DISPATCH_MAX_ROUNDS batches), so a backlog is handed to the
    workers without a wait between batches."""
    metrics.dispatch_ticked()
    schedules_fire_due(now)
    claimed = 0
    for _ in range(max(1, settings.DISPATCH_MAX_ROUNDS)):
        ids = messages_claim_due(now)
        claimed += len(ids)
        if len(ids) < settings.DISPATCH_BATCH:
            break
    return claimed


def messages_sweep(now: datetime | None = None) -> dict:
    """Find work a crashed worker or a flushed broker left behind."""
    from messaging.tasks import send_message

    now = now or timezone.now()
    stale_queued = now - timedelta(seconds=settings.QUEUED_TIMEOUT)
    with transaction.atomic():
        requeue = list(Message.objects.filter(status=Status.QUEUED, status_changed_at__lt=stale_queued)
                       .values_list("pk", flat=True)[: settings.DISPATCH_BATCH])
        if requeue:
            Message.objects.filter(pk__in=requeue, status=Status.QUEUED).update(status_changed_at=now)
            transaction.on_commit(lambda: _enqueue(send_message, requeue))
    stale_sending = now - timedelta(seconds=settings.SENDING_TIMEOUT)
    with transaction.atomic():
        # Locked, then moved by their ids with the status checked again: the rows announced are exactly the
        # rows moved. A row a worker is finishing right now is locked by it: skipped, its outcome stands.
        stuck = list(Message.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status=Status.SENDING, status_changed_at__lt=stale_sending).order_by("pk"))
        abandoned = Message.objects.filter(pk__in=[m.pk for m in stuck], status=Status.SENDING).update(
            status=Status.UNCONFIRMED, status_changed_at=now,
            last_error="The worker stopped while sending: the message may or may not have arrived.",
        ) if stuck else 0
        if stuck:
            _announce(stuck, Status.UNCONFIRMED, now)
    return {"requeued": len(requeue), "unconfirmed": abandoned}


# --- sending ------------------------------------------------------------------------------------------


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with ±20 % jitter, capped."""
    base = min(settings.RETRY_BACKOFF_BASE * 2 ** max(0, attempt - 1), settings.RETRY_BACKOFF_MAX)
    return base * random.uniform(0.8, 1.2)


@dataclass
class _Claim:
    pk: int
    status: str | None = None  # sending (ours to send), held, or None (another worker has it)
    at: datetime | None = None
    attempt: Attempt | None = None
    made: bool = False  # False: not tried yet (the next message of a chunk, until its predecessor's outcome)


@dataclass
class _InFlight:
    """A claimed message's attempt, and the chunk's next message, claimed in the transaction that records
    this one's outcome."""

    row: Attempt
    then_claim: _Claim | None = None


@cache
def _claim_sql() -> str:
    """`queued → sending` of one message whose group's connector is active: the UPDATE the ORM would make of
    `filter(pk=…, status=…).filter(_CONNECTOR_ACTIVE).update(…)`, written once because building that
    EXISTS for every send was the largest share of a send's CPU."""
    q = connection.ops.quote_name
    message, group, phone_user, connector = (q(m._meta.db_table) for m in (Message, Group, PhoneUser, Connector))
    # Identifiers from the models' metadata; every value is a parameter.
    active = (f"SELECT 1 FROM {group} g INNER JOIN {phone_user} p ON p.id = g.phone_user_id "  # noqa: S608
              f"INNER JOIN {connector} c ON c.id = p.connector_id WHERE g.id = {message}.group_id AND c.is_active = %s")
    return (f"UPDATE {message} SET status = %s, status_changed_at = %s, attempt_count = attempt_count + 1 "  # noqa: S608
            f"WHERE id = %s AND status = %s AND EXISTS ({active})")


def _claim(claim: _Claim, now: datetime) -> None:
    """Compare-and-set `queued → sending` of `claim.pk` (the caller creates the attempt row in the same
    transaction); the result is set on `claim`. The UPDATE re-reads the connector: it may have been
    deactivated since the dispatcher queued this message (then the message is held)."""
    claim.status, claim.at, claim.attempt, claim.made = None, now, None, True
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [Status.SENDING, connection.ops.adapt_datetimefield_value(now), claim.pk,
                                      Status.QUEUED, True])
        claimed = cursor.rowcount
    if claimed:
        claim.status = Status.SENDING
    elif Message.objects.filter(pk=claim.pk, status=Status.QUEUED).filter(~_CONNECTOR_ACTIVE).update(
            status=Status.HELD, status_changed_at=now, hold_reason=HOLD_REASON):
        claim.status = Status.HELD


def message_send_run(message_id: int, *, loaded: Message | None = None, claim: _Claim | None = None,
                     then_claim: _Claim | None = None, call_log: list | None = None) -> str | None:
    """Send one queued message; returns the status it ended in (None when another worker has it).

    From `messages_send_run`: `loaded`, the row read with the chunk; `claim`, this message's claim when the
    previous send's transaction made it; `then_claim`, the next message's, to make in this one's;
    `call_log`, where the call-log rows go (written here when None).
    """
    if call_log is None:
        call_log = []
        try:
            return message_send_run(message_id, loaded=loaded, claim=claim, then_claim=then_claim, call_log=call_log)
        finally:
            _write_call_log(call_log)
    if claim is None or not claim.made:
        claim = _Claim(message_id)
        with transaction.atomic():  # the claim and its attempt row in one commit
            _claim(claim, timezone.now())
            if claim.status == Status.SENDING:
                claim.attempt = Attempt.objects.create(message_id=message_id, started_at=claim.at)
    if claim.status != Status.SENDING:
        return claim.status
    if loaded is not None and loaded.status == Status.QUEUED:
        message = loaded
        message.status, message.status_changed_at = Status.SENDING, claim.at
        message.attempt_count += 1
    else:
        message = Message.objects.select_related("group__phone_user__connector").get(pk=message_id)
    attempt = _InFlight(claim.attempt, then_claim)
    group = message.group
    post_errors: list[kaizala.KaizalaError] = []

    def post(client):
        try:
            return _post(client, message)
        except kaizala.KaizalaError as error:
            post_errors.append(error)
            raise

    try:
        if message.media_id and not message.media_resource:
            try:
                _upload_media(message, call_log)
            except kaizala.KaizalaError as error:
                return _after_upload_error(message, attempt, error)
            except OSError:  # the stored file is gone (MEDIA_ROOT lost or moved): nothing can be posted
                log.exception("message %s: its stored file cannot be read", message.pk)
                return _finish(message, attempt, Status.FAILED, Attempt.Outcome.FAILED,
                               "The stored file of this post cannot be read (was MEDIA_ROOT moved?); compose it again.")
        result = kaizala_access.call_as(group.phone_user, post, call_log=call_log)
    except ReauthRequired as error:
        status = _finish(message, attempt, Status.SCHEDULED, Attempt.Outcome.DEFERRED, str(error), uncount=True,
                         due_at=timezone.now())
    except ConnectorInactive as error:  # deactivated between the check above and a token refresh
        status = _finish(message, attempt, Status.HELD, Attempt.Outcome.DEFERRED, str(error), uncount=True,
                         hold_reason=HOLD_REASON)
    except kaizala.KaizalaError as error:
        # Not the post's own error: the token refresh after a 401 failed, and the post was never applied.
        status = _after_error(message, attempt, error, posted=error in post_errors)
    except Exception as error:
        # The transport raises only KaizalaErrors once a call may have left: this failure came before the
        # post was sent (or before its file's upload, which is simply done again).
        log.exception("message %s: the console failed before its post was sent", message.pk)
        status = _after_local_error(message, attempt, error)
    else:
        failed = "; ".join(f"{f.subscriber}: {f.error_reason}" for f in getattr(result, "failed", ()) or ())
        status = _finish(message, attempt, Status.SENT, Attempt.Outcome.SENT,
                         f"Some subscribers did not get it: {failed}" if failed else "",
                         reference_id=result.reference_id or "", action_id=result.action_id or "",
                         sent_at=timezone.now())
    return status


def _post(client: kaizala.KaizalaClient, message: Message):
    """The one call that posts the message: a text message (§10), or an Action / media post (§12.1, §11.2)."""
    targeting = {"to_all_subscribers": message.to_all_subscribers, "subscribers": message.subscribers or None,
                 "reply_to_reference_id": message.reply_to_reference_id or None}
    if message.kind == Message.Kind.TEXT:
        return client.send_message(message.group.kaizala_id, message.text, **targeting)
    action = cards.build_action(message.kind, message.card, message.media_resource)
    return client.create_action(message.group.kaizala_id, action, **targeting)


def _upload_media(message: Message, call_log: list) -> None:
    """Upload the message's file (one more rate-limited call) and keep Kaizala's mediaResource at once, so a
    retry of the post does not upload it again."""
    media = message.media
    with media.file.open("rb") as handle:
        data = handle.read()
    resource = kaizala_access.call_as(
        message.group.phone_user, lambda client: client.upload_media(media.name, data, media.content_type),
        call_log=call_log)
    _retry_database_outage(lambda: Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
        media_resource=resource))
    message.media_resource = resource


def _after_upload_error(message: Message, attempt: _InFlight, error: kaizala.KaizalaError) -> str:
    """An upload posts nothing to the group: one that may or may not have reached Kaizala is simply done again
    (a retry, not `unconfirmed`); Kaizala refusing the file fails the message."""
    if isinstance(error, kaizala.AmbiguousError | kaizala.MalformedResponse | kaizala.ServerError):
        return _retry_or_give_up(message, attempt, f"Uploading the file: {describe_error(error)}", error)
    if isinstance(error, kaizala.RateLimited | kaizala.ConnectError | kaizala.EndpointMoved):
        return _after_error(message, attempt, error)
    return _finish(message, attempt, Status.FAILED, Attempt.Outcome.FAILED,
                   f"Kaizala refused the file: {describe_error(error)}", error)


def _after_error(message: Message, attempt: _InFlight, error: kaizala.KaizalaError, *, posted: bool = True) -> str:
    """`posted`: the error is the post's own (False: a call before it failed; the post was not applied)."""
    detail = describe_error(error)
    if isinstance(error, kaizala.RateLimited):
        # Not a failure: wait as long as Kaizala (or our own limiter) says, then go again.
        return _finish(message, attempt, Status.RETRYING, Attempt.Outcome.DEFERRED, detail, error, uncount=True,
                       due_at=timezone.now() + timedelta(seconds=max(error.retry_after, 0.5)))
    if not posted:
        detail = f"Before the post (nothing was sent): {detail}"
    elif isinstance(error, kaizala.AmbiguousError | kaizala.MalformedResponse) or (
        isinstance(error, kaizala.ServerError) and error.status not in RETRY_STATUSES
    ):
        return _finish(message, attempt, Status.UNCONFIRMED, Attempt.Outcome.UNCONFIRMED,
                       f"{detail} The message may have been delivered: check, then mark it sent or send it again.",
                       error)
    retryable = not posted or isinstance(error, kaizala.ConnectError | kaizala.EndpointMoved) or (
        isinstance(error, kaizala.ServerError) and error.status in RETRY_STATUSES
    )
    if retryable:
        return _retry_or_give_up(message, attempt, detail, error)
    return _finish(message, attempt, Status.FAILED, Attempt.Outcome.FAILED, detail, error)


def _after_local_error(message: Message, attempt: _InFlight, error: Exception) -> str:
    """Nothing was sent: try again after the back-off, as when Kaizala could not be reached."""
    return _retry_or_give_up(
        message, attempt, f"The console failed before sending ({type(error).__name__}); nothing was sent.")


def _retry_or_give_up(message: Message, attempt: _InFlight, detail: str,
                      error: kaizala.KaizalaError | None = None) -> str:
    """Due again after the back-off, or failed once SEND_MAX_ATTEMPTS attempts were made."""
    if message.attempt_count < settings.SEND_MAX_ATTEMPTS:
        return _finish(message, attempt, Status.RETRYING, Attempt.Outcome.RETRY, detail, error,
                       due_at=timezone.now() + timedelta(seconds=backoff_seconds(message.attempt_count)))
    return _finish(message, attempt, Status.FAILED, Attempt.Outcome.FAILED,
                   f"Gave up after {message.attempt_count} attempts. {detail}", error)


def _retry_database_outage(write):
    """Run `write`, reconnecting and retrying while the database is unreachable (for up to about
    FINISH_RETRY_SECONDS). What Kaizala answered is known only to this worker: losing it to a short
    database outage would leave the message `sending` until the sweeper calls it unconfirmed."""
    delay, waited = 0.25, 0.0
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if waited >= settings.FINISH_RETRY_SECONDS:
                raise
            log.warning("database unavailable while recording a send; retrying in %.2f s", delay)
            if not connection.in_atomic_block:
                connection.close()  # the next query opens a new connection
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)


def _finish(message, attempt, status, outcome, detail, error=None, *, uncount=False, **fields) -> str:
    now = timezone.now()
    if uncount:
        fields["attempt_count"] = F("attempt_count") - 1
    if status != Status.SENT:
        fields["last_error"] = detail[:1000]
    else:
        fields.setdefault("last_error", detail[:1000])

    def record() -> bool:
        # The attempt's outcome, the message's state and the claim of the chunk's next message in one commit.
        with transaction.atomic():
            Attempt.objects.filter(pk=attempt.row.pk, outcome="").update(  # an attempt is finished once
                finished_at=now, outcome=outcome, detail=detail[:1000],
                http_status=getattr(error, "status", None) if error else 200 if status == Status.SENT else None,
                error_class=type(error).__name__ if error else "",
            )
            # From `sending` only: if the sweeper already gave up on this attempt, its verdict stands.
            moved = _move(message.pk, [Status.SENDING], status, **fields)
            if moved and status in OUTCOMES:
                message.reference_id = fields.get("reference_id", message.reference_id)
                message_status_changed.send(sender=Message, messages=[message], status=status, changed_at=now)
            elif moved and "due_at" in fields:
                # Due again (a retry, a deferral): the dispatcher may be asleep until a later row or its
                # re-check; a wake makes it read the new due time.
                dispatcher_wake_on_commit()
            following = attempt.then_claim
            if following is not None:
                _claim(following, timezone.now())
                if following.status == Status.SENDING:
                    following.attempt = Attempt.objects.create(message_id=following.pk, started_at=following.at)
            return moved

    moved = _retry_database_outage(record)
    if moved:
        metrics.send_finished(status=status, due_at=message.due_at, sent_at=fields.get("sent_at"))
    else:
        log.warning("message %s left sending before its attempt finished; keeping the sweeper's state", message.pk)
    return status
