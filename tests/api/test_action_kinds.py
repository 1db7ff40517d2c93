"""Actions and media composed through the API: the compose form's rules (errors named by the API's fields),
and each kind's body as the sandbox received it over real HTTP."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from accounts.roles import Role
from groups.models import GroupMember
from messaging.models import MediaFile, Message, Schedule

pytestmark = pytest.mark.django_db
MESSAGES = "/api/v1/messages/"
MEMBER = "+919800011111"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.4\n% a tiny document\n"
START = (datetime.now(UTC) + timedelta(days=30)).replace(second=0, microsecond=0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def operator(api):
    return api(Role.OPERATOR)


CASES = [
    ("poll", {"poll": {"question": "Lunch?", "choices": ["Rice", "Roti"]}},
     {"actionType": "Poll", "actionBody": {"question": "Lunch?", "choices": [{"title": "Rice"}, {"title": "Roti"}],
                                           "expiryInHours": 720}}),
    ("survey", {"survey": {"title": "Site check", "anonymous": True, "questions": [
        {"title": "Safe?", "type": "SingleOption", "options": ["Yes", "No"]},
        {"title": "Workers", "type": "Numeric", "required": False}]}},
     {"actionType": "Survey", "actionBody": {
         "title": "Site check", "dueDate": 24, "isAnonymous": True, "isSenderOnly": False,
         "acceptMultipleResponses": False,
         "questions": [{"title": "Safe?", "type": "SingleOption", "options": [{"title": "Yes"}, {"title": "No"}]},
                       {"title": "Workers", "type": "Numeric"}]}}),
    ("job", {"job": {"title": "Fix the pump", "assignees": [MEMBER]}},
     {"actionType": "Job", "actionBody": {"title": "Fix the pump", "assignedTo": [MEMBER], "dueDate": 24}}),
    ("announcement", {"announcement": {"title": "Holiday", "message": "Closed on Friday"}},
     {"actionType": "Announcement", "actionBody": {"Title": "Holiday", "Message": "Closed on Friday"}}),
    ("letsmeet", {"meeting": {"title": "Review", "starts_at": START.isoformat(), "duration_minutes": 45,
                              "place": "Room 4", "agenda": "Numbers"}},
     {"actionType": "LetsMeet", "actionBody": {"title": "Review", "startingTime": f"{START:%Y-%m-%dT%H:%M:%SZ}",
                                               "duration": 45, "place": {"name": "Room 4"}, "agenda": "Numbers"}}),
]


@pytest.mark.parametrize(("kind", "body", "wire"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_composed_through_the_api_goes_out_as_its_action_body(operator, group, sandbox, dispatch, kind,
                                                                       body, wire):
    GroupMember.objects.create(group=group, mobile_number=MEMBER, name="Asha")
    answer = operator.post(MESSAGES, {"groups": [group.pk], "kind": kind, **body})
    assert answer.status_code == 201, answer.content
    [made] = answer.json()["messages"]
    assert made["kind"] == kind and made["card"]
    dispatch()
    message = Message.objects.get(pk=made["id"])
    assert message.status == Message.Status.SENT, message.last_error
    assert sandbox.bodies("createAction") == [wire]
    # The action id shows in the API, so the responses feed can be matched to the message.
    assert operator.get(f"{MESSAGES}{message.pk}/").json()["action_id"] == message.action_id != ""


def test_a_document_sent_as_base64_is_uploaded_then_posted(operator, group, sandbox, dispatch):
    answer = operator.post(MESSAGES, {"groups": [group.pk], "kind": "document", "caption": "This month",
                                      "file": {"name": "report.pdf", "content_base64": b64(PDF)}})
    assert answer.status_code == 201, answer.content
    dispatch()
    message = Message.objects.get()
    assert message.status == Message.Status.SENT, message.last_error
    assert sandbox.bodies("createAction") == [{"actionType": "Document", "actionBody": {
        "mediaResource": message.media_resource, "caption": "This month"}}]
    media_id = json.loads(base64.b64decode(message.media_resource))["Files"][0]["Id"]
    assert requests.get(f"{sandbox.base_url}/_sandbox/media/{media_id}/file", timeout=5).content == PDF


def test_an_announcement_image_goes_with_it(operator, group, sandbox, dispatch):
    answer = operator.post(MESSAGES, {"groups": [group.pk], "kind": "announcement", "announcement": {
        "title": "Fair", "message": "Saturday", "image": {"name": "flyer.png", "content_base64": b64(PNG)}}})
    assert answer.status_code == 201, answer.content
    dispatch()
    body = sandbox.bodies("createAction")[0]["actionBody"]
    assert body["MediaResources"] and Message.objects.get().media.name == "flyer.png"


def test_a_recurring_poll_through_the_api_is_a_poll_schedule(operator, group):
    answer = operator.post(MESSAGES, {"groups": [group.pk], "kind": "poll", "poll": {
        "question": "Attendance?", "choices": ["Present", "Absent"]},
        "recurrence": {"frequency": "daily", "local_time": "09:00", "time_zone": "Asia/Kolkata"}})
    assert answer.status_code == 201, answer.content
    schedule = Schedule.objects.get(pk=answer.json()["schedule"]["id"])
    assert (schedule.kind, schedule.card["choices"]) == ("poll", ["Present", "Absent"])
    assert answer.json()["schedule"]["kind"] == "poll"


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"kind": "poll"}, "poll", "needs its"),
    ({"kind": "poll", "poll": {"question": "Tea?", "choices": ["Tea"]}}, "poll.choices", "at least 2 choices"),
    ({"kind": "poll", "poll": {"question": "Tea?", "choices": ["Tea", "tea"]}}, "poll.choices", "twice"),
    ({"kind": "poll", "poll": {"question": "Tea?", "choices": ["Tea", "Milk"],
                               "due_at": "2020-01-01T00:00:00Z"}}, "poll.due_at", "in the past"),
    ({"kind": "job", "job": {"title": "Pump", "assignees": ["+919899999999"]}}, "job.assignees", "not a member"),
    ({"kind": "survey", "survey": {"title": "Kit", "questions": [{"title": "Size?", "type": "SingleOption",
                                                                   "options": ["M"]}]}},
     "survey.questions", "at least two options"),
    ({"kind": "letsmeet", "meeting": {"title": "Review", "starts_at": "2020-01-01T00:00:00Z"}},
     "meeting.starts_at", "in the past"),
    ({"kind": "image"}, "file", "Choose the image file"),
    ({"kind": "image", "file": {"name": "site.gif", "content_base64": b64(PNG)}}, "file", ".gif"),
    ({"kind": "image", "file": {"name": "site.png", "content_base64": b64(PDF)}}, "file", "not"),
    ({"kind": "image", "file": {"name": "site.png", "content_base64": "***"}}, "file", "Not base64"),
    ({"kind": "text"}, "text", "Write the message text"),
])
def test_a_bad_action_is_a_400_naming_the_apis_field_and_creates_nothing(operator, group, body, field, says):
    answer = operator.post(MESSAGES, {"groups": [group.pk], **body})
    assert answer.status_code == 400, answer.content
    fields = answer.json()["error"]["fields"]
    found = json.dumps(fields.get(field))
    assert says in found, fields
    assert not Message.objects.exists() and not MediaFile.objects.exists()
