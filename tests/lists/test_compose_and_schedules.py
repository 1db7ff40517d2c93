"""The compose form (groups picked from a checklist naming each one's phone user, the counter by the text, the
time zone beside each time, the button's words per "When") and editing a recurring schedule, with its next
fires listed."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM
from groups.models import Group
from messaging import services
from messaging.models import Message, Schedule
from messaging.recurrence import Rule, next_fires
from tests.form_token import form_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_group(group):
    return Group.objects.create(phone_user=group.phone_user, kaizala_id="g@2", name="Citizens",
                                state=Group.State.ACTIVE, group_type=Group.Type.CONNECT_GROUP)


def test_the_groups_are_a_checklist_naming_each_sending_phone_user(client_for, group, public_group):
    page = client_for(Role.OPERATOR).get(reverse("messaging:compose")).content.decode()
    boxes = re.findall(r'<div class="form-check" data-group-option data-public="(\d)" data-search="([^"]+)">', page)
    assert sorted(boxes) == [("0", "ops +919812345678"), ("1", "citizens +919812345678")]
    assert page.count('type="checkbox" name="groups"') == 2 and "via +919812345678" in page
    assert 'id="group-filter"' in page  # the search box, shown by compose.js


def test_the_button_counter_and_time_zones(client_for, group, settings):
    page = client_for(Role.OPERATOR).get(reverse("messaging:compose")).content.decode()
    assert 'data-label-now="Send now" data-label-once="Schedule" data-label-recurring="Start schedule"' in page
    # The counter sits in the text's label row, before the box.
    assert page.index('id="text-counter"') < page.index('name="text"')
    assert page.count(f'data-testid="zone">{settings.TIME_ZONE}<') == 2  # by the date-time and by the time of day
    assert 'data-frequency="weekly"' in page and 'data-frequency="monthly"' in page


def test_sending_to_a_chosen_group_still_works(client_for, group):
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:compose")
    response = client.post(url, {"groups": [group.pk], "text": "Hello", "when": "now"} | form_token(client, url))
    assert response.status_code == 302 and Message.objects.get().group == group


def make_schedule(group, **fields):
    rule = Rule(frequency="daily", local_time=time(9), time_zone="Asia/Kolkata", start_date=timezone.localdate())
    return services.schedule_create(actor=SYSTEM, groups=[group], text="Daily report", rule=rule, **fields)


def test_a_schedule_is_edited_text_groups_time_days_and_end(client_for, group, public_group):
    schedule = make_schedule(group)
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:schedule_edit", args=[schedule.pk])
    page = client.get(url).content.decode()
    assert "Daily report" in page and 'value="recurring"' in page and "Asia/Kolkata" in page
    end = timezone.localdate() + timedelta(days=60)
    response = client.post(url, {"groups": [public_group.pk], "text": "Weekly report", "frequency": "weekly",
                                 "weekdays": ["0", "3"], "local_time": "18:30", "start_date": schedule.start_date,
                                 "end_date": end.isoformat()})
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.text, schedule.frequency, schedule.weekdays, schedule.local_time, schedule.end_date) == (
        "Weekly report", "weekly", [0, 3], time(18, 30), end)
    assert list(schedule.groups.all()) == [public_group]
    assert schedule.time_zone == "Asia/Kolkata"
    local = schedule.next_fire_at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert local.weekday() in (0, 3) and local.time() == time(18, 30)


def test_editing_refuses_bad_input_and_an_ended_schedule(client_for, group):
    schedule = make_schedule(group)
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:schedule_edit", args=[schedule.pk])
    response = client.post(url, {"groups": [group.pk], "text": "x", "frequency": "weekly", "local_time": "09:00"})
    assert response.status_code == 200 and "Choose at least one weekday." in response.content.decode()
    assert Schedule.objects.get().text == "Daily report"
    Schedule.objects.filter(pk=schedule.pk).update(state=Schedule.State.ENDED)
    response = client.post(url, {"groups": [group.pk], "text": "x", "frequency": "daily", "local_time": "09:00"})
    assert response.status_code == 302 and Schedule.objects.get().text == "Daily report"
    with pytest.raises(services.ComposeError):
        services.schedule_edit(actor=SYSTEM, schedule=schedule, groups=[group], text="x",
                               rule=services.schedule_rule(schedule))


def test_the_next_fires_are_listed_in_the_schedules_zone(client_for, group):
    schedule = make_schedule(group)
    page = client_for(Role.VIEWER).get(reverse("messaging:schedule", args=[schedule.pk])).content.decode()
    listed = re.findall(r"<li>\w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d) <span[^>]*>Asia/Kolkata</span></li>", page)
    assert len(listed) == 5 and all(at == "09:00" for _, at in listed)
    assert [d for d, _ in listed] == sorted({d for d, _ in listed})


def test_next_fires_stop_at_the_end_date():
    rule = Rule(frequency="daily", local_time=time(9), time_zone="UTC", start_date=date(2030, 1, 1),
                end_date=date(2030, 1, 3))
    after = datetime(2029, 12, 31, tzinfo=UTC)
    assert [f.day for f in next_fires(rule, after, 5)] == [1, 2, 3]
