"""Recurring schedules: each fire creates one message per group, once, however often the dispatcher runs."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.actor import SYSTEM
from messaging import services
from messaging.models import Message, Schedule
from messaging.recurrence import DAILY, WEEKLY, Rule

pytestmark = pytest.mark.django_db


def test_creating_a_schedule_computes_its_first_fire_in_its_time_zone(group):
    with time_machine.travel(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), tick=False):
        schedule = services.schedule_create(actor=SYSTEM,
            groups=[group],
            text="Stand-up",
            rule=Rule(DAILY, time(9, 0), "Europe/Berlin", date(2026, 3, 28)),
        )
    # Tomorrow 09:00 in Berlin, the day DST starts: 07:00 UTC.
    assert schedule.next_fire_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_a_recurrence_that_never_fires_is_refused_and_nothing_is_saved(group):
    with pytest.raises(services.ComposeError, match="never fires"):
        services.schedule_create(actor=SYSTEM,
            groups=[group], text="x", rule=Rule(WEEKLY, time(9, 0), "UTC", date(2026, 1, 1), weekdays=())
        )
    assert Schedule.objects.count() == 0


def test_a_due_fire_creates_one_message_per_group_once(make_group, django_capture_on_commit_callbacks):
    a, b = make_group("A"), make_group("B")
    schedule = services.schedule_create(actor=SYSTEM,
        groups=[a, b], text="Daily", rule=Rule(DAILY, time(9, 0), "UTC", timezone.localdate())
    )
    fire_at = schedule.next_fire_at
    after = fire_at + timedelta(seconds=1)
    assert services.schedules_fire_due(after) == 2
    assert services.schedules_fire_due(after) == 0
    schedule.refresh_from_db()
    assert schedule.next_fire_at == fire_at + timedelta(days=1)
    assert schedule.fire_count == 1
    messages = Message.objects.filter(schedule=schedule)
    assert {m.group_id for m in messages} == {a.pk, b.pk}
    assert {m.scheduled_for for m in messages} == {fire_at}
    assert len({m.broadcast_id for m in messages}) == 1


def test_after_downtime_a_schedule_fires_once_and_resumes_from_now(group):
    schedule = services.schedule_create(actor=SYSTEM,
        groups=[group], text="Daily", rule=Rule(DAILY, time(9, 0), "UTC", timezone.localdate())
    )
    much_later = schedule.next_fire_at + timedelta(days=10, hours=1)
    assert services.schedules_fire_due(much_later) == 1
    schedule.refresh_from_db()
    assert schedule.next_fire_at > much_later
    assert services.schedules_fire_due(much_later) == 0


def test_a_schedule_ends_after_its_last_fire(group):
    today = timezone.localdate()
    schedule = services.schedule_create(actor=SYSTEM,
        groups=[group],
        text="Once more",
        rule=Rule(DAILY, time(23, 59), "UTC", today, end_date=today + timedelta(days=1)),
    )
    services.schedules_fire_due(schedule.next_fire_at)
    schedule.refresh_from_db()
    services.schedules_fire_due(schedule.next_fire_at)
    schedule.refresh_from_db()
    assert schedule.state == Schedule.State.ENDED
    assert schedule.next_fire_at is None
    assert schedule.fire_count == 2


def test_pause_resume_end(group):
    schedule = services.schedule_create(actor=SYSTEM,
        groups=[group], text="x", rule=Rule(DAILY, time(9, 0), "UTC", timezone.localdate())
    )
    services.schedule_set_state(actor=SYSTEM, schedule=schedule, state=Schedule.State.PAUSED)
    assert services.schedules_fire_due(schedule.next_fire_at + timedelta(days=3)) == 0
    schedule.refresh_from_db()
    with time_machine.travel(schedule.next_fire_at + timedelta(days=3), tick=False):
        services.schedule_set_state(actor=SYSTEM, schedule=schedule, state=Schedule.State.ACTIVE)
        schedule.refresh_from_db()
        assert schedule.next_fire_at > timezone.now()  # missed fires are not replayed
    services.schedule_set_state(actor=SYSTEM, schedule=schedule, state=Schedule.State.ENDED)
    with pytest.raises(services.ComposeError):
        services.schedule_set_state(actor=SYSTEM, schedule=schedule, state=Schedule.State.ACTIVE)
