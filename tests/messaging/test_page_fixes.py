"""Pages: flash messages reach the page they belong to, date inputs show their value, destructive actions
ask first, bad filter values are a note (never a 500), and each state column holds only its states."""

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.messages.storage.base import BaseStorage
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import Connector, PhoneUser
from groups.models import Group
from messaging.models import Attempt, Message, Schedule
from tests.security.world import all_routes, concrete, make_world

pytestmark = pytest.mark.django_db
Status = Message.Status


@pytest.fixture
def world():
    return make_world()


# --- 12.9: the schedule page showed no flash message (its context hid Django's `messages`) -------------


def test_the_flash_message_of_a_schedule_action_shows_on_the_schedule_page(client_for, world):
    client = client_for(Role.OPERATOR)
    schedule = world["schedule"]
    response = client.post(reverse("messaging:schedule_action", args=[schedule.pk, "pause"]), {"confirmed": "1"})
    assert response["Location"] == reverse("messaging:schedule", args=[schedule.pk])
    assert "Schedule paused." in client.get(response["Location"]).content.decode()
    assert "Schedule paused." not in client.get(reverse("dashboard")).content.decode()  # shown once, consumed


def test_no_page_hides_the_flash_messages_behind_a_context_variable(make_user, world):
    """Every GET page of every app: `messages` in the template context is Django's message storage."""
    client = Client()
    client.force_login(make_user("flash-admin", Role.ADMIN))
    checked = 0
    for name, route in all_routes():
        if name.startswith("admin:") or name in ("logout", "login"):
            continue
        response = client.get(concrete(name, route, world))
        if response.status_code != 200 or response.context is None:
            continue
        assert isinstance(response.context.get("messages"), BaseStorage), f"{name} shadows `messages`"
        checked += 1
    assert checked > 20


# --- 12.10: a date input shows its value only in ISO form ---------------------------------------------


HTML_INPUT_FORMATS = {
    "date": r"\d{4}-\d{2}-\d{2}",
    "time": r"\d{2}:\d{2}(:\d{2})?",
    "datetime-local": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?",
}


def date_and_time_inputs(page: str) -> list[tuple[str, str, str]]:
    found = []
    for tag in re.findall(r"<input[^>]*>", page):
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind[1] in HTML_INPUT_FORMATS:
            value = re.search(r'value="([^"]*)"', tag)
            found.append((kind[1], re.search(r'name="([^"]+)"', tag)[1], value[1] if value else ""))
    return found


def test_every_date_and_time_input_gets_its_value_in_the_form_the_browser_reads(client_for, world):
    client = client_for(Role.OPERATOR)
    pages = [
        client.get(reverse("messaging:compose")).content.decode(),
        client.get(reverse("messaging:edit", args=[world["message"].pk])).content.decode(),
        # A recurring compose sent back with an error: the dates typed are shown again.
        client.post(reverse("messaging:compose"), {"when": "recurring", "text": "x", "frequency": "weekly",
                                                   "local_time": "09:00", "start_date": "2026-11-29",
                                                   "end_date": "2027-01-31"}).content.decode(),
        client.get(reverse("messaging:list"), {"from": "2026-11-01", "to": "2026-11-30"}).content.decode(),
    ]
    inputs = [found for page in pages for found in date_and_time_inputs(page)]
    valued = [(kind, name, value) for kind, name, value in inputs if value]
    assert {"start_date", "send_at", "from", "end_date"} <= {name for _, name, _ in valued}
    for kind, name, value in valued:
        assert re.fullmatch(HTML_INPUT_FORMATS[kind], value), f"{name} ({kind}) is given {value!r}"
    assert ("date", "start_date", "2026-11-29") in valued


# --- 12.14: destructive actions ask first, saying what they affect ------------------------------------


def test_cancelling_a_message_asks_first(client_for, world):
    client = client_for(Role.OPERATOR)
    message = world["message"]
    url = reverse("messaging:action", args=[message.pk, "cancel"])
    page = client.get(url).content.decode()
    assert "Cancel this message?" in page and "World" in page and "not the rest of its broadcast" in page
    assert client.post(url).status_code == 200  # an unconfirmed POST only asks
    assert Message.objects.get(pk=message.pk).status == Status.SCHEDULED
    assert client.post(url, {"confirmed": "1"}).status_code == 302
    assert Message.objects.get(pk=message.pk).status == Status.CANCELLED


@pytest.mark.parametrize(("action", "words", "state"), [
    ("end", "will create no more messages", Schedule.State.ENDED),
    ("pause", "not made up on resuming", Schedule.State.PAUSED),
])
def test_ending_or_pausing_a_schedule_asks_first(client_for, world, action, words, state):
    client = client_for(Role.OPERATOR)
    schedule = world["schedule"]
    Message.objects.filter(pk=world["message"].pk).update(schedule=schedule)
    url = reverse("messaging:schedule_action", args=[schedule.pk, action])
    page = client.get(url).content.decode()
    assert words in page and "Its next fire" in page
    assert "The 1 message it already created and not yet sent is not cancelled" in page
    assert client.post(url).status_code == 200
    assert Schedule.objects.get(pk=schedule.pk).state == Schedule.State.ACTIVE
    assert client.post(url, {"confirmed": "1"}).status_code == 302
    assert Schedule.objects.get(pk=schedule.pk).state == state


def test_actions_that_do_not_ask_still_refuse_a_get(client_for, world):
    client = client_for(Role.OPERATOR)
    Message.objects.filter(pk=world["message"].pk).update(status=Status.FAILED)
    assert client.get(reverse("messaging:action", args=[world["message"].pk, "retry"])).status_code == 405
    assert Message.objects.get(pk=world["message"].pk).status == Status.FAILED
    assert client.get(reverse("messaging:schedule_action", args=[world["schedule"].pk, "resume"])).status_code == 405


# --- 13.3: bad filter values on the message list ------------------------------------------------------


@pytest.mark.parametrize("query", [
    {"group": "abc"}, {"phone_user": "abc"}, {"group": "99999999999999999999999"}, {"phone_user": "-1"},
    {"status": "nonsense"}, {"from": "29/13/2026"}, {"to": "99999-01-01"}, {"broadcast": "not-a-uuid"},
])
def test_a_bad_filter_value_is_ignored_with_a_note(client_for, world, query):
    response = client_for(Role.VIEWER).get(reverse("messaging:list"), query)
    assert response.status_code == 200
    page = response.content.decode()
    [value] = query.values()
    assert f"“{value}” is not valid and was ignored" in page
    assert "Hello" in page  # the list is shown unfiltered rather than empty


def test_good_filters_still_filter(client_for, world):
    client = client_for(Role.VIEWER)
    group = world["group"]
    assert "Hello" in client.get(reverse("messaging:list"), {"group": group.pk}).content.decode()
    other = Group.objects.create(phone_user=world["phone_user"], kaizala_id="g@other", name="Other",
                                 state=Group.State.ACTIVE)
    page = client.get(reverse("messaging:list"), {"group": other.pk, "status": "scheduled"}).content.decode()
    assert "No messages." in page and "not valid" not in page


# --- 12.20: each state column holds only its states ---------------------------------------------------


@pytest.mark.parametrize(("model", "column"), [
    (Message, "status"), (Schedule, "state"), (Schedule, "frequency"), (Attempt, "outcome"),
])
def test_a_state_column_refuses_a_value_that_is_not_one_of_its_states(world, model, column):
    Attempt.objects.create(message=world["message"], started_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.update(**{column: "bogus"})


# --- 12.15: what needs attention on the dashboard -----------------------------------------------------


def dashboard(client) -> str:
    return client.get(reverse("dashboard")).content.decode()


def test_an_overdue_message_needs_attention_on_the_dashboard_and_on_its_page(client_for, world):
    client = client_for(Role.VIEWER)
    assert "Nothing needs attention" in dashboard(client)
    message = world["message"]
    # No worker ran: due five minutes ago and still scheduled.
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    page = dashboard(client)
    assert "Overdue messages" in page and "Nothing needs attention" not in page
    assert "Overdue: due at" in client.get(reverse("messaging:detail", args=[message.pk])).content.decode()
    assert "overdue</span>" in client.get(reverse("messaging:list")).content.decode()
    PhoneUser.objects.filter(pk=world["phone_user"].pk).update(state=PhoneUser.State.REAUTH_REQUIRED)
    detail = client.get(reverse("messaging:detail", args=[message.pk])).content.decode()
    assert "is re-authentication required: it goes out once the phone is onboarded again" in detail
    PhoneUser.objects.filter(pk=world["phone_user"].pk).update(state=PhoneUser.State.ACTIVE)
    # Due half a minute ago: not yet overdue (a tick or two late is normal).
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now() - timedelta(seconds=30))
    assert "Nothing needs attention" in dashboard(client)


@pytest.mark.parametrize("state", [PhoneUser.State.PIN_FAILED, PhoneUser.State.LOGIN_FAILED])
def test_a_phone_user_stuck_in_a_failed_login_needs_attention(client_for, world, state):
    PhoneUser.objects.filter(pk=world["phone_user"].pk).update(state=state)
    page = dashboard(client_for(Role.VIEWER))
    assert world["phone_user"].mobile_number in page and "onboard it again" in page
    assert "Nothing needs attention" not in page


def test_held_messages_need_attention_and_say_why(client_for, world):
    Connector.objects.filter(pk=world["connector"].pk).update(is_active=False)
    Message.objects.filter(pk=world["message"].pk).update(status=Status.HELD, hold_reason="because")
    client = client_for(Role.OPERATOR)
    page = dashboard(client)
    assert "Held messages" in page and "their connector is deactivated" in page and "World connector" in page
    assert "Nothing needs attention" not in page
    detail = client.get(reverse("messaging:detail", args=[world["message"].pk])).content.decode()
    assert "Held: because" in detail and "World connector" in detail
    assert "Cancel all held" in client.get(reverse("messaging:list"), {"status": "held"}).content.decode()


def test_the_dashboard_makes_the_same_queries_however_much_needs_attention(client_for, world):
    client = client_for(Role.VIEWER)
    Connector.objects.filter(pk=world["connector"].pk).update(is_active=False)
    Message.objects.filter(pk=world["message"].pk).update(status=Status.HELD)
    PhoneUser.objects.create(connector=world["connector"], mobile_number="+919700009999",
                             state=PhoneUser.State.PIN_FAILED)
    client.get(reverse("dashboard"))  # the session and the user are cached after the first request

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert "held" in client.get(reverse("dashboard")).content.decode()
        return len(captured)

    a_little = queries()
    for n in range(5):  # five times as much: more held messages, more phone users in a failed login
        PhoneUser.objects.create(connector=world["connector"], mobile_number=f"+91970000{n:04d}",
                                 state=PhoneUser.State.PIN_FAILED)
        Message.objects.create(group=world["message"].group, text=f"held {n}", broadcast_id=uuid.uuid4(),
                               due_at=timezone.now(), scheduled_for=timezone.now(),
                               status_changed_at=timezone.now(), status=Status.HELD)
    assert queries() == a_little
