"""Reminders (§19): "Remind those who have not answered" now, through a worker, reaches the sandbox;
a daily reminder fires once per day until the action's due date, however many sweeps run."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from actions import services
from actions.models import ActionWork, ReminderSchedule
from audit.actor import SYSTEM
from audit.models import AuditRecord
from messaging.models import Message

pytestmark = pytest.mark.django_db


def reminders_at(sandbox, message) -> list:
    return [m for m in sandbox.messages(message.group.kaizala_id) if m["kind"] == "reminder"]


def test_remind_now_from_the_page_reaches_the_sandbox_once(poll, sandbox, client_for,
                                                           django_capture_on_commit_callbacks):
    client = client_for(Role.OPERATOR)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/actions/{poll.pk}/remind/")
    assert response.status_code == 302
    sent = reminders_at(sandbox, poll)
    assert len(sent) == 1 and sent[0]["actionId"] == poll.action_id and sent[0]["recipients"] == "group"
    work = ActionWork.objects.get(message=poll)
    assert work.reminded_at is not None and work.reminder_count == 1 and work.remind_requested_at is None
    assert AuditRecord.objects.filter(kind="action_reminded", object_id=str(poll.pk)).count() == 1
    assert "Reminded 1 time" in client.get(f"/actions/{poll.pk}/live/").content.decode()


def test_a_reminder_kaizala_refuses_says_why(poll, sandbox, django_capture_on_commit_callbacks):
    sandbox.inject_fault(method="POST", path="*/reminder", status=403, count=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.action_remind(message=poll, actor=SYSTEM)
    work = ActionWork.objects.get(message=poll)
    assert work.remind_requested_at is None and work.remind_error.startswith("Kaizala")
    assert reminders_at(sandbox, poll) == []


def test_a_message_that_is_no_action_cannot_be_reminded(group):
    now = timezone.now()
    text = Message.objects.create(group=group, text="Hi", broadcast_id="00000000-0000-0000-0000-000000000009",
                                  status=Message.Status.SENT, due_at=now, scheduled_for=now, status_changed_at=now)
    with pytest.raises(services.ActionRefused, match="no responses"):
        services.action_remind(message=text, actor=SYSTEM)
    assert not ActionWork.objects.exists()


def test_the_daily_reminder_fires_once_a_day_until_the_due_date(poll, sandbox, django_capture_on_commit_callbacks):
    sent_at = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)  # poll expiry: 48 h → due 2026-03-03 06:00 UTC
    Message.objects.filter(pk=poll.pk).update(sent_at=sent_at)
    poll.refresh_from_db()
    schedule = services.reminder_schedule_set(message=poll, local_time=time(9, 0), time_zone="Asia/Kolkata",
                                              actor=SYSTEM, now=sent_at)
    assert schedule.next_fire_at == datetime(2026, 3, 1, 3, 30, tzinfo=UTC) + timedelta(days=1)  # 09:00 IST
    fires = []
    for hours in range(0, 60, 1):
        now = sent_at + timedelta(hours=hours)
        with django_capture_on_commit_callbacks(execute=True):
            fired = services.reminders_fire(now) + services.reminders_fire(now)  # two sweeps race: one fires
        if fired:
            fires.append(now)
    # 09:00 IST is 03:30 UTC: on 2 and 3 March, before the due date (3 March 06:00 UTC); not on the 1st
    # (sent at 06:00 UTC, after 09:00 IST) nor the 4th.
    assert [f.date().isoformat() for f in fires] == ["2026-03-02", "2026-03-03"]
    assert len(reminders_at(sandbox, poll)) == 2
    assert ReminderSchedule.objects.get(message=poll).state == ReminderSchedule.State.ENDED
    assert AuditRecord.objects.filter(kind="reminder_scheduled").count() == 1


def test_a_daily_reminder_can_be_stopped_from_the_page(poll, client_for):
    client = client_for(Role.OPERATOR)
    response = client.post(f"/actions/{poll.pk}/reminders/", {"local_time": "09:00"})
    assert response.status_code == 302
    assert ReminderSchedule.objects.get(message=poll).state == ReminderSchedule.State.ACTIVE
    assert "Every day at 09:00" in client.get(f"/actions/{poll.pk}/").content.decode()
    client.post(f"/actions/{poll.pk}/reminders/stop/")
    assert ReminderSchedule.objects.get(message=poll).state == ReminderSchedule.State.ENDED
    assert AuditRecord.objects.filter(kind="reminder_stopped").count() == 1


def test_a_lost_reminder_task_is_enqueued_again_by_the_sweep(poll, sandbox, django_capture_on_commit_callbacks):
    ActionWork.objects.create(message=poll, remind_requested_at=timezone.now() - timedelta(minutes=10))
    services.action_work_sweep()
    assert len(reminders_at(sandbox, poll)) == 1
    assert ActionWork.objects.get(message=poll).remind_requested_at is None
