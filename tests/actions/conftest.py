"""A sent action at the sandbox (created over real HTTP with the client, as the send path does), its
Message row with Kaizala's actionId, and the webhook events of its responses."""

import itertools
import uuid

import pytest
from django.utils import timezone

import kaizala
from actions.answers import questions_of
from connectors.kaizala_access import call_as
from events import services as event_services
from events.models import Event, Subscription
from groups.models import GroupMember
from messaging.models import Message

_serial = itertools.count(1)
POLL_CARD = {"question": "Lunch on Friday?", "choices": ["Pizza", "Dosa", "Salad"], "expiry_hours": 48}
SURVEY_CARD = {
    "title": "Field check", "due_hours": 48, "anonymous": False, "multiple_responses": False,
    "questions": [
        {"title": "Which shift?", "type": "SingleOption", "options": ["Morning", "Evening"], "required": True},
        {"title": "Tools used", "type": "MultiOption", "options": ["Drill", "Saw", "Tape"], "required": False},
        {"title": "Notes", "type": "Text", "options": [], "required": False},
        {"title": "Hours", "type": "Numeric", "options": [], "required": False},
    ],
}


def member_phone(n: int) -> str:
    return f"+91981{n:07d}"


def send_action(group, kind: str, card: dict) -> Message:
    """Post the action at the sandbox through the client and record the message as the send path would."""
    if kind == "poll":
        action = kaizala.Poll(question=card["question"], choices=card["choices"], expiry_in_hours=card["expiry_hours"])
        text = card["question"]
    elif kind == "survey":
        action = kaizala.Survey(title=card["title"], due_in_hours=card["due_hours"],
                                accept_multiple_responses=card["multiple_responses"],
                                questions=[kaizala.SurveyQuestion(q["title"], q["type"], q["options"])
                                           for q in card["questions"]])
        text = card["title"]
    else:
        action = kaizala.Job(title=card["title"], assigned_to=card["assignees"], due_in_hours=card["due_hours"])
        text = card["title"]
    result = call_as(group.phone_user, lambda c: c.create_action(group.kaizala_id, action))
    now = timezone.now()
    return Message.objects.create(
        group=group, kind=kind, card=card, text=text, broadcast_id=uuid.uuid4(), status=Message.Status.SENT,
        due_at=now, scheduled_for=now, status_changed_at=now, sent_at=now, action_id=result.action_id,
        reference_id=result.reference_id or "")


def answer_at_sandbox(sandbox, message: Message, phone: str, answer: str) -> dict:
    """A member answers on their phone (the sandbox's control call); returns its response row from Kaizala's
    details, so a test can build the webhook event Kaizala would deliver."""
    join_at_sandbox(sandbox, message.group, phone)
    sandbox._control("POST", f"groups/{message.group.kaizala_id}/actions/{message.action_id}/answer",
                     json={"from": phone, "answer": answer})
    return details_row(sandbox, message, phone)


def join_at_sandbox(sandbox, group, phone: str) -> None:
    """The phone joins the group (only members answer); joining twice is fine."""
    reply = sandbox.http.post(f"{sandbox.base_url}/_sandbox/groups/{group.kaizala_id}/join", timeout=10,
                              json={"mobileNumber": phone, "name": f"Member {phone[-4:]}"})
    assert reply.status_code in (200, 400), reply.text


def details_row(sandbox, message: Message, phone: str) -> dict:
    rows = call_as(message.group.phone_user, lambda c: c.get_action(message.group.kaizala_id, message.action_id)
                   ).body["responses"]
    return next(r for r in reversed(rows) if r["responder"] == phone)


def add_members(group, phones) -> None:
    GroupMember.objects.bulk_create(GroupMember(group=group, mobile_number=p, name=f"Member {p[-4:]}",
                                                state=GroupMember.State.ADDED) for p in phones)


def listening(group) -> Subscription:
    return Subscription.objects.create(group=group, callback_token="t" * 32, state=Subscription.State.ACTIVE,
                                       webhook_id=f"wh-actions-{next(_serial)}")


def response_event(message: Message, *, response_id: str, phone: str, answers=None, event_type="ActionResponse",
                   is_update=False, event_id: str | None = None, completed=None, data_extra=None) -> dict:
    """The event Kaizala delivers, in §14.7's documented shapes only: a job's completion names its assignee
    inside `responseDetails.response`; other answers come as `responseWithQuestions`, one per question."""
    data = {"actionId": message.action_id, "groupId": message.group.kaizala_id, "responseId": response_id}
    if completed is not None:
        data["responseDetails"] = {"response": {"assignee": phone, "assigneeName": phone, "assigneeProfilePic": "",
                                                "isCompleted": completed}}
    else:
        questions = questions_of(message.kind, message.card)
        given = answers if isinstance(answers, list) else [answers]
        items = [{"title": q.title, "type": q.type, "options": [{"title": o} for o in q.options], "answer": a}
                 for q, a in zip(questions, given, strict=False)]
        items += [{"title": "", "type": "Text", "options": [], "answer": a} for a in given[len(questions):]]
        data.update({"isUpdateResponse": is_update, "responder": phone, "responderName": phone,
                     "responderProfilePic": "", "isAnonymous": False,
                     "responseDetails": {"responseWithQuestions": items}})
    data.update(data_extra or {})
    return {"objectId": message.group.kaizala_id, "objectType": "Group", "eventType": event_type,
            "eventId": event_id or f"ev-{uuid.uuid4()}", "data": data, "fromUser": phone, "fromUserName": phone}


def deliver_and_process(subscription: Subscription, raw: dict) -> Event:
    """Store the event as the receiver does and process it as the worker does (no broker in between)."""
    event_services.event_receive(subscription=subscription, raw=raw)
    event = Event.objects.get(event_id=raw["eventId"])
    event_services.event_process(event.pk)
    event.refresh_from_db()
    return event


@pytest.fixture
def poll(group):
    return send_action(group, "poll", POLL_CARD)


@pytest.fixture
def survey(group):
    return send_action(group, "survey", SURVEY_CARD)
