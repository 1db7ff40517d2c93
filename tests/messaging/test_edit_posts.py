"""Editing a scheduled post of any kind, and a schedule of actions: the page starts from what was composed,
the compose form's rules apply, the kind and (unless replaced) the file stay, and what goes out at the
sandbox is the edited card."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM
from audit.models import AuditRecord
from messaging import services
from messaging.models import MediaFile, Message, Schedule
from messaging.recurrence import Rule

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
POLL = {"question": "Lunch?", "choices": ["Rice", "Roti"], "expiry_hours": 720}


def later(hours=3) -> str:
    return timezone.localtime(timezone.now() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def scheduled(group, kind, card, upload=None) -> Message:
    [message] = services.message_create(actor=SYSTEM, groups=[group], kind=kind, card=card, upload=upload,
                                        send_at=timezone.now() + timedelta(hours=2))
    return message


def test_a_scheduled_poll_is_edited_from_its_card_and_goes_out_as_edited(client_for, group, sandbox, dispatch):
    message = scheduled(group, "poll", POLL)
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:edit", args=[message.pk])
    page = client.get(url).content.decode()
    assert 'value="Lunch?"' in page and "Rice\nRoti</textarea>" in page and 'name="kind" value="poll"' in page

    response = client.post(url, {"poll_question": "Dinner?", "poll_choices": "Rice\nRoti\nSalad",
                                 "send_at": later(1)})
    assert response.status_code == 302, response.content.decode()[:2000]
    message.refresh_from_db()
    assert (message.kind, message.text, message.card["choices"]) == ("poll", "Poll: Dinner?",
                                                                     ["Rice", "Roti", "Salad"])
    record = AuditRecord.objects.filter(kind="message_edited").get()
    assert "Dinner?" in record.changes["content"][1] and record.changes["text"] == ["Poll: Lunch?", "Poll: Dinner?"]

    dispatch(timezone.now() + timedelta(hours=2))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.last_error
    assert sandbox.bodies("createAction")[0]["actionBody"]["question"] == "Dinner?"


def test_a_bad_edit_says_why_and_changes_nothing(client_for, group):
    message = scheduled(group, "poll", POLL)
    client = client_for(Role.OPERATOR)
    response = client.post(reverse("messaging:edit", args=[message.pk]),
                           {"poll_question": "Dinner?", "poll_choices": "Rice", "send_at": later()})
    assert response.status_code == 200 and "at least 2 choices" in response.content.decode()
    message.refresh_from_db()
    assert message.card == POLL and message.text == "Poll: Lunch?"
    assert not AuditRecord.objects.filter(kind="message_edited").exists()


def test_an_image_post_keeps_its_file_unless_another_is_chosen(client_for, group):
    message = scheduled(group, "image", {"caption": "Site"}, services.Upload("site.png", PNG, "image/png"))
    first = message.media
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:edit", args=[message.pk])
    assert "Now: <bdi>site.png</bdi>" in client.get(url).content.decode()

    assert client.post(url, {"caption": "Site, day 2", "send_at": later()}).status_code == 302
    message.refresh_from_db()
    assert message.media == first and message.card == {
        "caption": "Site, day 2", "file": {"name": "site.png", "size": len(PNG), "content_type": "image/png"}}

    replaced = client.post(url, {"caption": "Site, day 3", "send_at": later(),
                                 "media_file": SimpleUploadedFile("day3.png", PNG, content_type="image/png")})
    assert replaced.status_code == 302
    message.refresh_from_db()
    assert message.media != first and message.media.name == "day3.png" and MediaFile.objects.count() == 2


def test_a_message_that_moved_on_is_not_edited(client_for, group):
    message = scheduled(group, "poll", POLL)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED)
    response = client_for(Role.OPERATOR).post(reverse("messaging:edit", args=[message.pk]), {
        "poll_question": "Dinner?", "poll_choices": "Rice\nRoti", "send_at": later()})
    assert response.status_code == 200 and "has moved on" in response.content.decode()
    message.refresh_from_db()
    assert message.card == POLL


def test_a_schedule_of_surveys_is_edited_from_its_questions(client_for, group):
    card = {"title": "Kit", "due_hours": 24, "anonymous": False, "multiple_responses": False,
            "questions": [{"title": "Helmet?", "type": "SingleOption", "options": ["Yes", "No"], "required": True}]}
    rule = Rule(frequency="daily", local_time=timezone.localtime().time().replace(microsecond=0),
                time_zone="UTC", start_date=timezone.localdate())
    schedule = services.schedule_create(actor=SYSTEM, groups=[group], rule=rule, kind="survey", card=card)
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:schedule_edit", args=[schedule.pk])
    page = client.get(url).content.decode()
    assert 'value="Helmet?"' in page and "Yes\nNo</textarea>" in page and 'name="kind" value="survey"' in page

    response = client.post(url, {
        "groups": [group.pk], "frequency": "daily", "local_time": "09:00", "start_date": timezone.localdate(),
        "survey_title": "Kit check", "q-TOTAL_FORMS": "2", "q-INITIAL_FORMS": "0",
        "q-0-title": "Helmet?", "q-0-type": "SingleOption", "q-0-options": "Yes\nNo", "q-0-required": "on",
        "q-1-title": "Boots size", "q-1-type": "Numeric", "q-1-options": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule.refresh_from_db()
    assert (schedule.kind, schedule.text) == ("survey", "Survey: Kit check")
    assert [q["title"] for q in schedule.card["questions"]] == ["Helmet?", "Boots size"]
    assert Schedule.objects.count() == 1


def test_a_scheduled_job_is_edited_to_other_members_of_its_group_only(client_for, group):
    from groups.models import GroupMember

    for phone in ("+919800011111", "+919800011112"):
        GroupMember.objects.create(group=group, mobile_number=phone, name=f"Member {phone[-2:]}")
    message = scheduled(group, "job", {"title": "Fix the pump", "assignees": ["+919800011111"], "due_hours": 24})
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:edit", args=[message.pk])
    page = client.get(url).content.decode()
    assert 'value="+919800011111"' in page and 'value="+919800011112"' in page  # both members offered
    refused = client.post(url, {"job_title": "Fix the pump", "job_assignees": ["+919899999999"], "send_at": later()})
    assert refused.status_code == 200 and "not a member" in refused.content.decode()
    assert client.post(url, {"job_title": "Fix the pump", "job_assignees": ["+919800011112"],
                             "send_at": later()}).status_code == 302
    message.refresh_from_db()
    assert message.card["assignees"] == ["+919800011112"]
