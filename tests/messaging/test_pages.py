"""The compose form refuses bad input with a clear message and saves nothing; the pages by role."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from accounts.roles import Role
from connectors.models import PhoneUser
from groups.models import Group
from messaging.models import Message, Schedule
from tests.form_token import form_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_group(db):
    """A group row only (no Kaizala call is made by the web process anyway)."""
    from connectors.models import Connector

    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    phone_user = PhoneUser.objects.create(
        connector=connector, mobile_number="+919812345678", state=PhoneUser.State.ACTIVE
    )
    return Group.objects.create(phone_user=phone_user, kaizala_id="g@1", name="Ops", state=Group.State.ACTIVE)


def post(client, **fields):
    data = {"when": "now", "text": "Hello"}
    data.update(fields)
    return client.post(reverse("messaging:compose"), data | form_token(client, reverse("messaging:compose")))


def local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


BAD = [
    ({"text": ""}, "Write the message text"),
    ({"text": "   \n  "}, "only spaces"),
    ({"text": "x" * 4001}, "at most 4,000 characters"),
    ({"text": "nul\x00byte"}, "Null characters are not allowed"),
    ({"when": "once", "send_at": ""}, "Choose the date and time"),
    ({"when": "once", "send_at": "2020-01-01T10:00"}, "in the past"),
    ({"when": "once", "send_at": "9999-12-31T23:59"}, "more than two years ahead"),
    ({"when": "once", "send_at": "not a date"}, "Enter a valid date/time"),
    ({"when": "recurring", "frequency": "weekly", "local_time": "09:00"}, "at least one weekday"),
    ({"when": "recurring", "frequency": "monthly", "local_time": "09:00"}, "day of the month"),
    (
        {
            "when": "recurring",
            "frequency": "daily",
            "local_time": "09:00",
            "start_date": "2026-01-10",
            "end_date": "2026-01-01",
        },
        "end date is before the start",
    ),
    (
        {
            "when": "recurring",
            "frequency": "daily",
            "local_time": "09:00",
            "start_date": "2020-01-01",
            "end_date": "2020-01-02",
        },
        "never fires",
    ),
    ({"to_all_subscribers": "on"}, "only in public groups"),
    ({"subscribers": "not-a-number"}, "line 1"),
]


@pytest.mark.parametrize(("fields", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(client_for, local_group, fields, message):
    client = client_for(Role.OPERATOR)
    response = post(client, groups=[local_group.pk], **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Message.objects.count() == 0 and Schedule.objects.count() == 0


def test_no_group_chosen(client_for, local_group):
    response = post(client_for(Role.OPERATOR))
    assert "Choose at least one group" in response.content.decode()


def test_a_phone_user_needing_reauthentication_is_refused(client_for, local_group):
    PhoneUser.objects.update(state=PhoneUser.State.REAUTH_REQUIRED)
    response = post(client_for(Role.OPERATOR), groups=[local_group.pk])
    assert "needs re-authentication" in response.content.decode()
    assert Message.objects.count() == 0


def test_a_group_that_is_not_active_cannot_be_chosen(client_for, local_group):
    Group.objects.update(state=Group.State.FAILED)
    response = post(client_for(Role.OPERATOR), groups=[local_group.pk])
    assert "Select a valid choice" in response.content.decode()
    assert Message.objects.count() == 0


def operator_in_zone(client_for, zone):
    client = client_for(Role.OPERATOR)
    Profile.objects.create(user=get_user_model().objects.get(username="user-operator"), time_zone=zone)
    return client


def test_a_time_in_the_dst_gap_of_the_users_zone_is_refused(client_for, local_group):
    client = operator_in_zone(client_for, "Europe/Berlin")
    response = post(client, groups=[local_group.pk], when="once", send_at="2027-03-28T02:30")
    assert "may not exist" in response.content.decode()
    assert Message.objects.count() == 0


def test_a_time_is_read_in_the_users_time_zone(client_for, local_group):
    client = operator_in_zone(client_for, "Asia/Kolkata")
    response = post(client, groups=[local_group.pk], when="once", send_at="2027-01-15T09:30", text="emoji 👋 עברית")
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.due_at.isoformat() == "2027-01-15T04:00:00+00:00"
    assert message.text == "emoji 👋 עברית"


def test_4000_characters_with_emoji_fit(client_for, local_group):
    response = post(client_for(Role.OPERATOR), groups=[local_group.pk], text="👋" * 4000)
    assert response.status_code == 302
    assert len(Message.objects.get().text) == 4000


def test_a_recurring_schedule_is_saved_from_the_form(client_for, local_group):
    response = post(
        client_for(Role.OPERATOR),
        groups=[local_group.pk],
        when="recurring",
        frequency="weekly",
        weekdays=["0", "3"],
        local_time="08:15",
    )
    schedule = Schedule.objects.get()
    assert response["Location"] == reverse("messaging:schedule", args=[schedule.pk])
    assert schedule.weekdays == [0, 3] and schedule.next_fire_at > timezone.now()


def test_a_viewer_cannot_compose_or_act_by_url(client_for, local_group):
    message = Message.objects.create(
        group=local_group,
        text="x",
        broadcast_id="00000000-0000-0000-0000-000000000001",
        due_at=timezone.now() + timedelta(hours=1),
        scheduled_for=timezone.now() + timedelta(hours=1),
        status_changed_at=timezone.now(),
    )
    client = client_for(Role.VIEWER)
    assert client.get(reverse("messaging:compose")).status_code == 403
    assert post(client, groups=[local_group.pk]).status_code == 403
    assert client.post(reverse("messaging:action", args=[message.pk, "cancel"])).status_code == 403
    assert client.get(reverse("messaging:edit", args=[message.pk])).status_code == 403
    assert Message.objects.get(pk=message.pk).status == Message.Status.SCHEDULED
    assert client.get(reverse("messaging:list")).status_code == 200
    assert client.get(reverse("messaging:detail", args=[message.pk])).status_code == 200


def test_the_dashboard_counts_and_lists(client_for, local_group):
    now = timezone.now()
    for status in ("sent", "failed", "unconfirmed", "scheduled"):
        Message.objects.create(
            group=local_group,
            text=f"m-{status}",
            status=status,
            broadcast_id="00000000-0000-0000-0000-000000000001",
            due_at=now + timedelta(hours=1),
            scheduled_for=now,
            status_changed_at=now,
            sent_at=now if status == "sent" else None,
        )
    page = client_for(Role.VIEWER).get(reverse("dashboard")).content.decode()
    assert "Failed messages" in page and "Unconfirmed messages" in page
    assert "m-scheduled" in page
    assert "1 message sent" in page


def test_the_dashboard_shows_getting_started_until_a_phone_user_is_active(client_for):
    client = client_for(Role.ADMIN)
    assert "Getting started" in client.get(reverse("dashboard")).content.decode()
    from connectors.models import Connector

    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    PhoneUser.objects.create(connector=connector, mobile_number="+919812345678", state=PhoneUser.State.ACTIVE)
    assert "Getting started" not in client.get(reverse("dashboard")).content.decode()
