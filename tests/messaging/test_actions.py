"""Actions and media on the send path, against the sandbox over real HTTP (tasks eager): each kind's body as
the sandbox received it, a media upload done once however often its post is retried, a recurring poll that
fires as a poll, and the compose page's preview and file checks."""

import base64
import json
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM
from groups.models import GroupMember
from messaging import services
from messaging.models import MediaFile, Message
from messaging.recurrence import Rule
from tests.form_token import form_token

pytestmark = pytest.mark.django_db
Status = Message.Status
Kind = Message.Kind
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.4\n% a tiny document\n"
MEMBER = "+919800011111"


def send(group, kind, card, upload=None) -> Message:
    [message] = services.message_create(actor=SYSTEM, groups=[group], send_at=None, kind=kind, card=card,
                                        upload=upload)
    return message


START = datetime(2031, 5, 6, 9, 30, tzinfo=UTC)
CASES = [
    (Kind.ANNOUNCEMENT, {"title": "Holiday", "message": "Office closed on Friday"},
     {"actionType": "Announcement", "actionBody": {"Title": "Holiday", "Message": "Office closed on Friday"}}),
    (Kind.POLL, {"question": "Lunch?", "choices": ["Rice", "Roti", "Salad"], "expiry_hours": 5},
     {"actionType": "Poll", "actionBody": {"question": "Lunch?", "choices": [{"title": "Rice"}, {"title": "Roti"},
                                                                               {"title": "Salad"}],
                                           "expiryInHours": 5}}),
    (Kind.SURVEY, {"title": "Site check", "due_hours": 48, "anonymous": True, "multiple_responses": False,
                   "questions": [{"title": "Safe?", "type": "SingleOption", "options": ["Yes", "No"], "required": True},
                                 {"title": "Workers", "type": "Numeric", "required": False},
                                 {"title": "Where", "type": "Location", "required": True}]},
     {"actionType": "Survey", "actionBody": {
         "title": "Site check", "dueDate": 48, "isAnonymous": True, "isSenderOnly": False,
         "acceptMultipleResponses": False,
         "questions": [{"title": "Safe?", "type": "SingleOption", "options": [{"title": "Yes"}, {"title": "No"}]},
                       {"title": "Workers", "type": "Numeric"}, {"title": "Where", "type": "Location"}]}}),
    (Kind.JOB, {"title": "Fix the pump", "assignees": [MEMBER], "due_hours": 24},
     {"actionType": "Job", "actionBody": {"title": "Fix the pump", "assignedTo": [MEMBER], "dueDate": 24}}),
    (Kind.LETS_MEET, {"title": "Review", "starting_time": START.isoformat(), "duration_minutes": 45,
                      "place": "Room 4", "latitude": None, "longitude": None, "agenda": "Numbers"},
     {"actionType": "LetsMeet", "actionBody": {"title": "Review", "startingTime": "2031-05-06T09:30:00Z",
                                               "duration": 45, "place": {"name": "Room 4"}, "agenda": "Numbers"}}),
]


@pytest.mark.parametrize(("kind", "card", "wire"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_goes_out_as_its_action_body(group, sandbox, dispatch, kind, card, wire):
    GroupMember.objects.create(group=group, mobile_number=MEMBER, name="Asha")
    message = send(group, kind, card)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert sandbox.bodies("createAction") == [wire]
    assert message.action_id and message.reference_id  # Kaizala's actionId, kept with `sent`
    assert sandbox.calls(route="sendMessage") == []


def test_a_media_post_uploads_the_file_then_posts_its_resource(group, sandbox, dispatch):
    upload = services.Upload(name="report.pdf", data=PDF, content_type="application/pdf")
    message = send(group, Kind.DOCUMENT, {"caption": "This month", "file": {"name": "report.pdf"}}, upload)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    [upload_call] = sandbox.calls(route="uploadMedia")
    assert sandbox.bodies("createAction") == [{"actionType": "Document", "actionBody": {
        "mediaResource": message.media_resource, "caption": "This month"}}]
    # The bytes Kaizala got are the file's.
    media_id = json.loads(base64.b64decode(message.media_resource))["Files"][0]["Id"]
    got = requests.get(f"{sandbox.base_url}/_sandbox/media/{media_id}/file", timeout=5)
    assert got.content == PDF and upload_call["status"] == 200


def test_a_retried_media_post_does_not_upload_again(group, sandbox, dispatch):
    upload = services.Upload(name="site.png", data=PNG, content_type="image/png")
    message = send(group, Kind.IMAGE, {"caption": "Site"}, upload)
    sandbox.inject_fault(method="POST", path="*/actions", count=1, status=503)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.RETRYING
    assert message.media_resource, "the upload's mediaResource is kept before the post"
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert len(sandbox.calls(route="uploadMedia")) == 1
    assert len(sandbox.calls(route="createAction")) == 2  # the failed post and the one that went through
    assert sandbox.bodies("createAction")[-1]["actionBody"]["mediaResource"] == message.media_resource


def test_an_upload_that_fails_is_retried_and_nothing_is_posted(group, sandbox, dispatch):
    message = send(group, Kind.IMAGE, {"caption": ""}, services.Upload("a.png", PNG, "image/png"))
    sandbox.inject_fault(method="POST", path="*/media", count=1, status=500)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.RETRYING and not message.media_resource
    assert sandbox.calls(route="createAction") == []


def test_a_recurring_poll_fires_as_a_poll(group, sandbox, dispatch):
    card = {"question": "Attendance today?", "choices": ["Present", "Absent"], "expiry_hours": 8}
    rule = Rule(frequency="daily", local_time=time(9, 0), time_zone="UTC", start_date=timezone.localdate())
    schedule = services.schedule_create(actor=SYSTEM, groups=[group], rule=rule, kind=Kind.POLL, card=card)
    assert schedule.text == "Poll: Attendance today?"
    type(schedule).objects.filter(pk=schedule.pk).update(next_fire_at=timezone.now() - timedelta(seconds=1))
    dispatch()
    message = Message.objects.get(schedule=schedule)
    assert (message.kind, message.card, message.status) == (Kind.POLL, card, Status.SENT)
    assert sandbox.bodies("createAction") == [{"actionType": "Poll", "actionBody": {
        "question": "Attendance today?", "choices": [{"title": "Present"}, {"title": "Absent"}], "expiryInHours": 8}}]


def test_a_job_for_someone_who_is_not_a_member_is_refused_by_the_service(group, sandbox):
    with pytest.raises(services.ComposeError, match="is not a member"):
        send(group, Kind.JOB, {"title": "x", "assignees": ["+919899999999"], "due_hours": 24})
    assert not Message.objects.exists()


@pytest.fixture
def operator(make_user):
    client = Client()
    client.force_login(make_user("composer", Role.OPERATOR))
    return client


def test_the_preview_shows_the_card_and_what_is_missing(operator, group):
    page = operator.post("/messages/compose/preview/", {"kind": "poll", "poll_question": "Tea or coffee?",
                                                        "poll_choices": "Tea\nCoffee\nWater"}).content.decode()
    assert "Tea or coffee?" in page and "Coffee" in page and "Before it can be sent" not in page
    page = operator.post("/messages/compose/preview/", {"kind": "poll", "poll_question": "Tea?",
                                                        "poll_choices": "Tea"}).content.decode()
    assert "at least 2 choices" in page


def test_composing_a_survey_on_the_page_stores_its_card(operator, group):
    data = {"kind": "survey", "groups": group.pk, "when": "now", "survey_title": "Kit check",
            "q-TOTAL_FORMS": "2", "q-INITIAL_FORMS": "0",
            "q-0-title": "Helmet?", "q-0-type": "SingleOption", "q-0-options": "Yes\nNo", "q-0-required": "on",
            "q-1-title": "Remarks", "q-1-type": "Text", "q-1-options": ""}
    response = operator.post("/messages/compose/", {**data, **form_token(operator, "/messages/compose/")})
    assert response.status_code == 302, response.content.decode()[:3000]
    message = Message.objects.get()
    assert message.kind == Kind.SURVEY and message.card["questions"] == [
        {"title": "Helmet?", "type": "SingleOption", "options": ["Yes", "No"], "required": True},
        {"title": "Remarks", "type": "Text", "required": False}]
    assert message.card["due_hours"] == 24 and message.text == "Survey: Kit check"


def test_an_uploaded_image_is_stored_and_served_to_logged_in_users_only(operator, group):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"kind": "image", "groups": group.pk, "when": "now", "caption": "Progress",
            "media_file": SimpleUploadedFile("site.png", PNG, content_type="image/png")}
    response = operator.post("/messages/compose/", {**data, **form_token(operator, "/messages/compose/")})
    assert response.status_code == 302, response.content.decode()[:3000]
    media = MediaFile.objects.get()
    assert (media.name, media.size, media.content_type) == ("site.png", len(PNG), "image/png")
    assert Message.objects.get().card["file"]["name"] == "site.png"
    served = operator.get(f"/messages/media/{media.pk}/")
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    assert Client().get(f"/messages/media/{media.pk}/").status_code == 302  # to the login page


def test_a_member_answers_a_survey_from_the_sandbox_phone_page(group, sandbox, dispatch, phone_user):
    card = {"title": "Kit", "due_hours": 24, "anonymous": False, "multiple_responses": False,
            "questions": [{"title": "Items", "type": "MultiOption", "options": ["Helmet", "Boots"], "required": True},
                          {"title": "Count", "type": "Numeric", "required": True}]}
    message = send(group, Kind.SURVEY, card)
    dispatch()
    message.refresh_from_db()
    phone = phone_user.mobile_number
    page = requests.get(f"{sandbox.base_url}/_sandbox/", params={"mobileNumber": phone}, timeout=5).text
    assert "Kit" in page and "Helmet" in page and 'name="answer_1"' in page
    answered = requests.post(
        f"{sandbox.base_url}/_sandbox/groups/{group.kaizala_id}/actions/{message.action_id}/answer",
        json={"from": phone, "answer_0": ["Helmet", "Boots"], "answer_1": "3"}, timeout=5)
    assert answered.status_code == 200, answered.text
    details = requests.get(
        f"{phone_user.endpoint_url.rstrip('/')}/v1/groups/{group.kaizala_id}/actions/{message.action_id}",
        params={"getDetails": "true"}, headers={"accessToken": phone_user.access_token}, timeout=5).json()
    assert details["actionDetails"]["responses"][0]["answers"] == [["Helmet", "Boots"], 3.0]


def test_a_poll_goes_to_several_groups_and_to_chosen_subscribers_of_a_public_group(make_group, tenant_admin, sandbox,
                                                                                   dispatch):
    team, public = make_group("Team"), make_group("Public", phone_user=tenant_admin, group_type="ConnectGroup")
    card = {"question": "Open on Sunday?", "choices": ["Yes", "No"], "expiry_hours": 24}
    broadcast = services.message_create(actor=SYSTEM, groups=[team, public], send_at=None, kind=Kind.POLL,
                                        card=card)
    assert len({m.broadcast_id for m in broadcast}) == 1
    services.message_create(actor=SYSTEM, groups=[public], send_at=None, kind=Kind.POLL, card=card,
                            audience=services.Audience(subscribers=("+919800077777",)))
    dispatch()
    wire = {"actionType": "Poll", "actionBody": {
        "question": "Open on Sunday?", "choices": [{"title": "Yes"}, {"title": "No"}], "expiryInHours": 24}}
    sent = sorted(((call["path"].split("/groups/")[1].split("/")[0], json.loads(call["body"]))
                   for call in sandbox.calls(route="createAction")), key=lambda pair: json.dumps(pair))
    assert sorted([(team.kaizala_id, wire), (public.kaizala_id, wire),
                   (public.kaizala_id, {**wire, "subscribers": ["+919800077777"]})],
                  key=lambda pair: json.dumps(pair)) == sent
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_reminder_goes_to_the_audience_of_its_action(make_group, tenant_admin, sandbox, dispatch,
                                                       django_capture_on_commit_callbacks):
    """§19: in a public group the reminder carries the action's chosen subscribers (or sendToAllSubscribers);
    elsewhere it has no body and reaches the group. Checked on the body the sandbox received."""
    from actions import services as action_services

    team, public = make_group("Team"), make_group("Public", phone_user=tenant_admin, group_type="ConnectGroup")
    card = {"question": "Open on Sunday?", "choices": ["Yes", "No"], "expiry_hours": 24}
    [to_group] = services.message_create(actor=SYSTEM, groups=[team], send_at=None, kind=Kind.POLL, card=card)
    [chosen] = services.message_create(actor=SYSTEM, groups=[public], send_at=None, kind=Kind.POLL, card=card,
                                       audience=services.Audience(subscribers=("+919800077777", "+919800077778")))
    [everyone] = services.message_create(actor=SYSTEM, groups=[public], send_at=None, kind=Kind.POLL, card=card,
                                         audience=services.Audience(to_all_subscribers=True))
    dispatch()
    for message in (to_group, chosen, everyone):
        message.refresh_from_db()
        assert message.status == Status.SENT and message.action_id, message.last_error
        with django_capture_on_commit_callbacks(execute=True):
            action_services.action_remind(message=message, actor=SYSTEM)
    received = {call["path"].split("/actions/")[1].split("/")[0]: json.loads(call["body"] or "{}")
                for call in sandbox.calls(route="remindAction")}
    assert received == {to_group.action_id: {},
                        chosen.action_id: {"subscribers": ["+919800077777", "+919800077778"]},
                        everyone.action_id: {"sendToAllSubscribers": True}}


def test_an_announcement_with_an_image_posts_the_upload_as_its_media_resource(group, sandbox, dispatch):
    upload = services.Upload(name="flyer.png", data=PNG, content_type="image/png")
    message = send(group, Kind.ANNOUNCEMENT, {"title": "Fair", "message": "Saturday at 10"}, upload)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert len(sandbox.calls(route="uploadMedia")) == 1
    assert sandbox.bodies("createAction") == [{"actionType": "Announcement", "actionBody": {
        "Title": "Fair", "Message": "Saturday at 10", "MediaResources": [message.media_resource]}}]


def test_the_preview_of_a_text_shows_it_without_asking_for_more(operator, group):
    page = operator.post("/messages/compose/preview/", {"kind": "text", "text": "Shift at <9>"}).content.decode()
    assert "Shift at &lt;9&gt;" in page and "Before it can be sent" not in page
    page = operator.post("/messages/compose/preview/", {"kind": "survey", "survey_title": "Kit"}).content.decode()
    assert "Add at least one question to the survey." in page


def test_a_poll_sent_at_a_time_is_open_until_its_closing_time_counted_from_then(operator, group):
    at = (timezone.now() + timedelta(hours=2)).astimezone(UTC).replace(second=0, microsecond=0)
    closes = at + timedelta(hours=5, minutes=30)
    data = {"kind": "poll", "groups": group.pk, "when": "once", "send_at": at.strftime("%Y-%m-%dT%H:%M"),
            "poll_question": "Lunch?", "poll_choices": "Rice\nRoti", "due_at": closes.strftime("%Y-%m-%dT%H:%M")}
    response = operator.post("/messages/compose/", {**data, **form_token(operator, "/messages/compose/")})
    assert response.status_code == 302, response.content.decode()[:3000]
    message = Message.objects.get()
    assert (message.status, message.due_at) == (Status.SCHEDULED, at)
    assert message.card["expiry_hours"] == 6  # 5 h 30 from the send time, rounded up to whole hours


def test_a_post_whose_stored_file_is_gone_fails_and_says_so(group, sandbox, dispatch):
    message = send(group, Kind.IMAGE, {"caption": ""}, services.Upload("a.png", PNG, "image/png"))
    message.media.file.delete(save=False)
    dispatch()
    message.refresh_from_db()
    assert message.status == Status.FAILED and "stored file" in message.last_error
    assert sandbox.calls(route="uploadMedia") == [] and sandbox.calls(route="createAction") == []
