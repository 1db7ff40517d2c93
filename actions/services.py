"""Every write about the responses to sent actions, their refresh from Kaizala and their reminders.

Rules that keep a response from being counted twice or lost:
- a response is one row per (actionId, key) (see actions/models.py); it is inserted, or, when the row is
  there, replaced by a compare-and-set that only a response at least as new wins, so a late event never
  puts back an answer its author has since edited;
- its chosen options are replaced in the same transaction, under the row's lock (the UPDATE holds it);
- a refresh or a reminder in flight is a timestamp on `ActionWork`, set by a compare-and-set (one at a
  time per action), cleared by the worker that did it, and enqueued again by the sweeper if its task was
  lost; work is enqueued after commit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from actions import answers as answer_rules
from actions.models import ActionCount, ActionResponse, ActionWork, ReminderSchedule, ResponseChoice
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record
from messaging.models import Message
from messaging.recurrence import DAILY, Rule, next_fire

log = logging.getLogger(__name__)
Source = ActionResponse.Source

ACTION_KINDS = (Message.Kind.POLL, Message.Kind.SURVEY, Message.Kind.JOB, Message.Kind.LETS_MEET)
# A refresh or reminder asked for longer ago than this and not done: its task was lost; enqueued again.
WORK_TIMEOUT = timedelta(minutes=5)
# How far back the sweep looks for answers that outran their send (that race lasts a moment, not days).
TALLY_SWEEP_WINDOW = timedelta(days=2)
REFRESH_BATCH = 200  # responses per transaction when a refresh stores them


class ActionRefused(Exception):
    """An action on an action's results the console refuses; the message is for the page."""


def sent_action(message: Message) -> str:
    """"" when `message` is a sent action with results; else why it has none (a sentence for the page)."""
    if message.kind not in ACTION_KINDS:
        return "This message is not a poll, survey, job or meeting: it has no responses."
    if message.status != Message.Status.SENT or not message.action_id:
        return "This action has not been sent yet (Kaizala gave no action id): it has no responses yet."
    return ""


# --- storing one response --------------------------------------------------------------------------


def _key(parsed: answer_rules.Parsed, one_each: bool) -> str:
    if one_each and parsed.responder_phone:
        return f"p:{parsed.responder_phone}"
    if parsed.response_id:
        return f"r:{parsed.response_id}"
    return f"p:{parsed.responder_phone}" if parsed.responder_phone else ""


def _message_for(action_id: str) -> Message | None:
    return (Message.objects.filter(action_id=action_id).only("id", "kind", "card", "group_id")
            .order_by("id").first())


def _contribution(*, is_completed, has_unexpected: bool, chosen) -> dict[str, int]:
    """What one stored response adds to its action's counts (besides "responses")."""
    counts = {f"q{q}.{o}": 1 for q, o in chosen}
    if is_completed is True:
        counts["completed"] = 1
    if has_unexpected:
        counts["unexpected"] = 1
    return counts


def _add(into: dict[str, int], counts: dict[str, int], sign: int = 1) -> None:
    for name, n in counts.items():
        into[name] = into.get(name, 0) + sign * n


def counts_apply(action_id: str, deltas: dict[str, int]) -> None:
    """Add `deltas` to the action's running counts in one statement, its rows in name order: every
    transaction takes these row locks in the same order, so two never wait on each other in a circle."""
    rows = sorted((name, n) for name, n in deltas.items() if n)
    if not rows:
        return
    table = connection.ops.quote_name(ActionCount._meta.db_table)
    count = connection.ops.quote_name("count")
    # Only quoted identifiers of this model and placeholders go into the text; the values are parameters.
    sql = (f"INSERT INTO {table} (action_id, name, {count}) VALUES {', '.join(['(%s, %s, %s)'] * len(rows))} "  # noqa: S608
           f"ON CONFLICT (action_id, name) DO UPDATE SET {count} = {table}.{count} + EXCLUDED.{count}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for name, n in rows for value in (action_id, name, n)])


def response_store(*, action_id: str, parsed: answer_rules.Parsed, source: str, at: datetime,
                   message: Message | None = None, deltas: dict[str, int] | None = None) -> str:
    """Insert or replace one response; "created", "replaced" or "kept" (an older copy of what is stored).
    Called inside the caller's transaction (the event's, or a refresh batch's). Its change to the running
    counts is applied at once, or added to `deltas` for a caller storing many (applied once, at its end)."""
    message = message if message is not None else _message_for(action_id)
    kind, card = (message.kind, message.card) if message is not None else ("", {})
    questions = answer_rules.questions_of(kind, card)
    key = _key(parsed, answer_rules.one_response_each(kind, card))
    if not key:
        raise ValueError("The response names neither its responder nor its responseId.")
    chosen, unfit = answer_rules.chosen_options(questions, parsed.answers)
    if message is None:
        chosen = []  # counted once the action's questions are known (responses_tally_pending)
    fields = {
        "response_id": parsed.response_id, "responder_phone": parsed.responder_phone,
        "responder_name": parsed.responder_name, "answers": parsed.answers, "is_completed": parsed.is_completed,
        "has_unexpected": parsed.unexpected or unfit, "responded_at": at, "source": source,
        "updated_at": timezone.now(), "tallied": message is not None,
    }
    change: dict[str, int] = {}
    outcome = "created"
    try:
        with transaction.atomic():
            row = ActionResponse.objects.create(action_id=action_id, key=key, **fields)
        pk = row.pk
        change["responses"] = 1
    except IntegrityError:
        # Compare-and-set under the row's lock: only a response at least as new replaces the stored one.
        old = (ActionResponse.objects.select_for_update().filter(action_id=action_id, key=key)
               .values("pk", "responded_at", "is_completed", "has_unexpected").first())
        if old is None or old["responded_at"] > at:
            return "kept"
        pk = old["pk"]
        ActionResponse.objects.filter(pk=pk).update(**fields)
        old_chosen = list(ResponseChoice.objects.filter(response_id=pk).values_list("question", "option"))
        ResponseChoice.objects.filter(response_id=pk).delete()
        _add(change, _contribution(is_completed=old["is_completed"], has_unexpected=old["has_unexpected"],
                                   chosen=old_chosen), sign=-1)
        outcome = "replaced"
    ResponseChoice.objects.bulk_create(
        ResponseChoice(response_id=pk, action_id=action_id, question=q, option=o) for q, o in chosen)
    _add(change, _contribution(is_completed=fields["is_completed"], has_unexpected=fields["has_unexpected"],
                               chosen=chosen))
    if deltas is None:
        counts_apply(action_id, change)
    else:
        _add(deltas, change)
    return outcome


def response_from_event(event, *, deltas_by_action: dict[str, dict[str, int]] | None = None) -> str:
    """An ActionResponse / SurveyResponse / JobResponse / PollResponse event, inside event_process's
    transaction. Its time is when the console received it: Kaizala's event carries none. With
    `deltas_by_action`, its change to the running counts is added there for the caller to apply."""
    from events.services import EventInvalid

    data = event.raw.get("data")
    if not isinstance(data, dict):
        raise EventInvalid("The event carries no data object.")
    action_id = data.get("actionId")
    if not isinstance(action_id, str) or not action_id:
        raise EventInvalid("The response event names no action (data.actionId).")
    parsed = answer_rules.parse_response(
        data, fallback_phone=event.raw.get("fromUser") if isinstance(event.raw.get("fromUser"), str) else "",
        fallback_name=event.raw.get("fromUserName") if isinstance(event.raw.get("fromUserName"), str) else "")
    deltas = None if deltas_by_action is None else deltas_by_action.setdefault(action_id[:200], {})
    try:
        return response_store(action_id=action_id[:200], parsed=parsed, source=Source.EVENT, at=event.received_at,
                              deltas=deltas)
    except ValueError as exc:
        raise EventInvalid(str(exc)) from None


def responses_tally_pending(*, message: Message) -> int:
    """Count the options of responses stored before their action's message was known (an answer that
    outran the send's record of the action id). Returns how many responses were tallied."""
    questions = answer_rules.questions_of(message.kind, message.card)
    count, deltas = 0, {}
    with transaction.atomic():
        # Locked, and only while untallied: a response replaced meanwhile was tallied by its replacement.
        pending = (ActionResponse.objects.select_for_update().filter(action_id=message.action_id, tallied=False)
                   .values_list("pk", "answers", "has_unexpected"))
        for pk, answers, flagged in pending:
            chosen, unfit = answer_rules.chosen_options(questions, answers if isinstance(answers, list) else [])
            ResponseChoice.objects.bulk_create(
                ResponseChoice(response_id=pk, action_id=message.action_id, question=q, option=o) for q, o in chosen)
            ActionResponse.objects.filter(pk=pk).update(tallied=True, has_unexpected=flagged or unfit)
            _add(deltas, _contribution(is_completed=None, has_unexpected=unfit and not flagged, chosen=chosen))
            count += 1
        counts_apply(message.action_id, deltas)
    return count


def action_counts_rebuild(*, action_id: str) -> None:
    """Recount an action's running counts from its stored responses and options (the truth): after a bulk
    load, or to check them. Takes a lock on the action's counts while it recounts."""
    from django.db.models import Count, Q

    with transaction.atomic():
        list(ActionCount.objects.select_for_update().filter(action_id=action_id).values_list("pk"))
        totals = ActionResponse.objects.filter(action_id=action_id).aggregate(
            responses=Count("id"), completed=Count("id", filter=Q(is_completed=True)),
            unexpected=Count("id", filter=Q(has_unexpected=True)))
        rows = dict(totals)
        for q, o, n in (ResponseChoice.objects.filter(action_id=action_id).values_list("question", "option")
                        .annotate(n=Count("id")).order_by()):
            rows[f"q{q}.{o}"] = n
        ActionCount.objects.filter(action_id=action_id).delete()
        ActionCount.objects.bulk_create(ActionCount(action_id=action_id, name=name, count=n)
                                        for name, n in sorted(rows.items()) if n)


# --- refresh from Kaizala --------------------------------------------------------------------------


def _work(message: Message) -> ActionWork:
    work, _ = ActionWork.objects.get_or_create(message=message)
    return work


def _enqueue(task_name: str, message_id: int) -> None:
    from actions import tasks

    getattr(tasks, task_name).delay(message_id)


def action_refresh(*, message: Message, actor: Actor) -> None:
    """Ask a worker to read the action's responses from Kaizala (`GET …/actions/{id}?getDetails=true`)."""
    refusal = sent_action(message)
    if refusal:
        raise ActionRefused(refusal)
    with transaction.atomic():
        work = _work(message)
        if not ActionWork.objects.filter(pk=work.pk, refresh_requested_at__isnull=True).update(
                refresh_requested_at=timezone.now(), refresh_error=""):
            raise ActionRefused("A refresh from Kaizala is already running for this action.")
        audit_record(actor=actor, kind=Kind.ACTION_REFRESH_REQUESTED, obj=message,
                     summary=f"Responses of {message.get_kind_display().lower()} {message.action_id} "
                             "refreshed from Kaizala")
        transaction.on_commit(lambda: _enqueue("refresh_action", message.pk))


def _respondent_rows(body) -> list:
    rows = body.get("responses") if hasattr(body, "get") else None
    return rows if isinstance(rows, list) else []


def _requested(message_id: int, field: str) -> ActionWork | None:
    """The action's work row when `field` says a refresh or reminder is asked for, with the group's phone user."""
    return ActionWork.objects.select_related("message__group__phone_user").filter(
        message_id=message_id, **{f"{field}__isnull": False}).first()


def _work_call(work: ActionWork, kind: str, requested_at, *, attempt: int, call) -> tuple[bool, object]:
    """The Kaizala call of a refresh or a reminder (`kind`), as its phone user: a transient failure is noted and
    raised (TryAgain: the task retries); a final one ends the request with its reason. (done, the answer)."""
    from groups.kaizala_calls import CallFailed, TryAgain, run

    try:
        return True, run(work.message.group.phone_user, call, attempt=attempt)
    except TryAgain as again:
        ActionWork.objects.filter(pk=work.pk).update(**{f"{kind}_error": f"{again.message} Trying again."[:500]})
        raise
    except CallFailed as failed:
        ActionWork.objects.filter(pk=work.pk, **{f"{kind}_requested_at": requested_at}).update(
            **{f"{kind}_requested_at": None, f"{kind}_error": failed.message[:500]})
        return False, None


def action_refresh_run(message_id: int, *, attempt: int = 0) -> None:
    """The worker's half: one details call, then every response stored (inserted or replaced)."""
    work = _requested(message_id, "refresh_requested_at")
    if work is None:
        return
    requested_at, message = work.refresh_requested_at, work.message
    group = message.group
    done, details = _work_call(work, "refresh", requested_at, attempt=attempt, call=lambda c: c.get_action(
        group.kaizala_id, message.action_id, details=True))
    if not done:
        return
    rows = _respondent_rows(details.body)
    skipped = 0
    for start in range(0, len(rows), REFRESH_BATCH):
        with transaction.atomic():
            deltas: dict[str, int] = {}
            for row in rows[start:start + REFRESH_BATCH]:
                if not isinstance(row, dict):
                    skipped += 1
                    continue
                parsed = answer_rules.parse_response(row)
                try:
                    response_store(action_id=message.action_id, parsed=parsed, source=Source.REFRESH,
                                   at=parsed.responded_at or timezone.now(), message=message, deltas=deltas)
                except ValueError:
                    skipped += 1
            # Once per batch, after its responses: the counts' locks are the last this transaction takes.
            counts_apply(message.action_id, deltas)
    note = f"{skipped} response{'s' if skipped != 1 else ''} from Kaizala could not be read." if skipped else ""
    ActionWork.objects.filter(pk=work.pk, refresh_requested_at=requested_at).update(
        refresh_requested_at=None, refreshed_at=timezone.now(), refresh_error=note)


# --- reminders -------------------------------------------------------------------------------------


def action_remind(*, message: Message, actor: Actor) -> None:
    """"Remind those who have not answered" now: a worker posts Kaizala's reminder (§19)."""
    refusal = sent_action(message)
    if refusal:
        raise ActionRefused(refusal)
    with transaction.atomic():
        if not _remind_claim(message):
            raise ActionRefused("A reminder is already being sent for this action.")
        audit_record(actor=actor, kind=Kind.ACTION_REMINDED, obj=message,
                     summary=f"Reminder of {message.get_kind_display().lower()} {message.action_id} sent")
        transaction.on_commit(lambda: _enqueue("remind_action", message.pk))


def _remind_claim(message: Message) -> bool:
    work = _work(message)
    return bool(ActionWork.objects.filter(pk=work.pk, remind_requested_at__isnull=True).update(
        remind_requested_at=timezone.now(), remind_error=""))


def action_remind_run(message_id: int, *, attempt: int = 0) -> None:
    """The worker's half: the reminder to the same audience as the action (chosen subscribers of a public
    group get it again; the group otherwise)."""
    work = _requested(message_id, "remind_requested_at")
    if work is None:
        return
    requested_at, message = work.remind_requested_at, work.message
    group = message.group
    done, _ = _work_call(work, "remind", requested_at, attempt=attempt, call=lambda c: c.remind_action(
        group.kaizala_id, message.action_id, to_all_subscribers=message.to_all_subscribers,
        subscribers=None if message.to_all_subscribers else (message.subscribers or None)))
    if not done:
        return
    ActionWork.objects.filter(pk=work.pk, remind_requested_at=requested_at).update(
        remind_requested_at=None, reminded_at=timezone.now(), remind_error="",
        reminder_count=F("reminder_count") + 1)


def _next_reminder(schedule_time: time, zone: str, after: datetime, until: datetime) -> datetime | None:
    fire = next_fire(Rule(frequency=DAILY, local_time=schedule_time, time_zone=zone,
                          start_date=after.astimezone(UTC).date() - timedelta(days=1)), after)
    return fire if fire is not None and fire < until else None


def reminder_schedule_set(*, message: Message, local_time: time, time_zone: str, actor: Actor,
                          now: datetime | None = None) -> ReminderSchedule:
    """Remind every day at `local_time` (in `time_zone`) until the action's due date."""
    refusal = sent_action(message)
    if refusal:
        raise ActionRefused(refusal)
    now = now or timezone.now()
    until = answer_rules.due_at(message.kind, message.card, message.sent_at)
    if until is None or until <= now:
        raise ActionRefused("This action has no due date ahead: there is nothing to remind of on a schedule.")
    first = _next_reminder(local_time, time_zone, now, until)
    if first is None:
        raise ActionRefused(f"No {local_time:%H:%M} comes before the due date ({until:%Y-%m-%d %H:%M} UTC).")
    with transaction.atomic():
        schedule, _ = ReminderSchedule.objects.update_or_create(message=message, defaults={
            "local_time": local_time, "time_zone": time_zone, "until": until, "next_fire_at": first,
            "state": ReminderSchedule.State.ACTIVE})
        audit_record(actor=actor, kind=Kind.REMINDER_SCHEDULED, obj=message,
                     summary=f"Daily reminder at {local_time:%H:%M} ({time_zone}) of action {message.action_id} "
                             f"until {until:%Y-%m-%d %H:%M} UTC")
    return schedule


def reminder_schedule_stop(*, message: Message, actor: Actor) -> None:
    with transaction.atomic():
        if not ReminderSchedule.objects.filter(message=message, state=ReminderSchedule.State.ACTIVE).update(
                state=ReminderSchedule.State.ENDED, next_fire_at=None):
            raise ActionRefused("This action has no reminder schedule running.")
        audit_record(actor=actor, kind=Kind.REMINDER_STOPPED, obj=message,
                     summary=f"Daily reminder of action {message.action_id} stopped")


def reminders_fire(now: datetime | None = None) -> int:
    """The beat's sweep: every due reminder schedule moves to its next fire (compare-and-set on the fire it
    claims, so two sweeps never both fire it) and its reminder is enqueued. Returns how many fired."""
    now = now or timezone.now()
    fired = 0
    due = ReminderSchedule.objects.filter(state=ReminderSchedule.State.ACTIVE, next_fire_at__lte=now).select_related(
        "message")[:100]
    for schedule in due:
        following = _next_reminder(schedule.local_time, schedule.time_zone, now, schedule.until)
        changes = {"next_fire_at": following} if following else {"next_fire_at": None,
                                                                  "state": ReminderSchedule.State.ENDED}
        with transaction.atomic():
            if not ReminderSchedule.objects.filter(pk=schedule.pk, next_fire_at=schedule.next_fire_at,
                                                   state=ReminderSchedule.State.ACTIVE).update(
                    fire_count=F("fire_count") + 1, **changes):
                continue
            if _remind_claim(schedule.message):
                message_id = schedule.message_id
                transaction.on_commit(lambda m=message_id: _enqueue("remind_action", m))
            fired += 1
    return fired


def action_work_sweep(now: datetime | None = None) -> int:
    """Enqueue again a refresh or reminder asked for WORK_TIMEOUT ago and not done (a lost task)."""
    now = now or timezone.now()
    cutoff = now - WORK_TIMEOUT
    count = 0
    for field, task in (("refresh_requested_at", "refresh_action"), ("remind_requested_at", "remind_action")):
        stale = list(ActionWork.objects.filter(**{f"{field}__lte": cutoff}).values_list("message_id", flat=True)[:100])
        for message_id in stale:
            _enqueue(task, message_id)
        count += len(stale)
    # Answers that outran the send's record of the action id: tallied now that the message is known.
    late = (Message.objects.filter(kind__in=ACTION_KINDS).exclude(action_id="")
            .filter(Exists(ActionResponse.objects.filter(action_id=OuterRef("action_id"), tallied=False)),
                    sent_at__gte=now - TALLY_SWEEP_WINDOW))
    for message in late[:20]:
        responses_tally_pending(message=message)
    return count
