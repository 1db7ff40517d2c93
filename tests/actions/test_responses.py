"""Responses to a sent action: from webhook events and from "Refresh from Kaizala" (the sandbox over real
HTTP), each counted once; an edit replaces; answers Kaizala sends in a shape nobody expected are kept and
shown raw, never a 500."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.roles import Role
from actions import services
from actions.models import ActionCount, ActionResponse, ActionWork, ResponseChoice
from audit.actor import SYSTEM
from audit.models import AuditRecord
from events import services as event_services
from events.models import Event
from tests.actions.conftest import (
    answer_at_sandbox,
    deliver_and_process,
    listening,
    member_phone,
    response_event,
)

pytestmark = pytest.mark.django_db


def tally(message) -> dict:
    """The options counted, from the stored options (the truth); the running counts must say the same."""
    truth = {(q, o): n for q, o, n in ResponseChoice.objects.filter(action_id=message.action_id)
             .values_list("question", "option").annotate(n=Count("id"))}
    running = {name: n for name, n in ActionCount.objects.filter(action_id=message.action_id)
               .values_list("name", "count") if n}
    expected = {f"q{q}.{o}": n for (q, o), n in truth.items()}
    responses = ActionResponse.objects.filter(action_id=message.action_id)
    for name, n in (("responses", responses.count()), ("completed", responses.filter(is_completed=True).count()),
                    ("unexpected", responses.filter(has_unexpected=True).count())):
        if n:
            expected[name] = n
    assert running == expected, "the running counts differ from the stored responses"
    return truth


def test_the_generic_and_specific_event_and_a_redelivery_count_one_response(poll, group):
    subscription = listening(group)
    phone = member_phone(1)
    first = response_event(poll, response_id="r-1", phone=phone, answers=["Dosa"])
    deliver_and_process(subscription, first)
    deliver_and_process(subscription, {**first, "eventType": "PollResponse", "eventId": first["eventId"] + "-p"})
    deliver_and_process(subscription, first)  # Kaizala delivers at least once
    assert ActionResponse.objects.filter(action_id=poll.action_id).count() == 1
    assert tally(poll) == {(0, 1): 1}
    assert Event.objects.filter(action_id=poll.action_id).count() == 2
    assert not Event.objects.exclude(error="").exists()


def test_an_edited_answer_replaces_the_earlier_one(poll, group):
    subscription = listening(group)
    phone = member_phone(2)
    deliver_and_process(subscription, response_event(poll, response_id="r-2", phone=phone, answers=["Pizza"]))
    deliver_and_process(subscription, response_event(poll, response_id="r-2", phone=phone, answers=["Salad"],
                                                     is_update=True))
    row = ActionResponse.objects.get(action_id=poll.action_id)
    assert row.answers == ["Salad"]
    assert tally(poll) == {(0, 2): 1}


def test_an_older_copy_arriving_after_the_edit_does_not_put_the_old_answer_back(poll, group):
    subscription = listening(group)
    phone = member_phone(3)
    new = deliver_and_process(subscription, response_event(poll, response_id="r-3", phone=phone, answers=["Salad"]))
    old = response_event(poll, response_id="r-3", phone=phone, answers=["Pizza"])
    event_services.event_receive(subscription=subscription, raw=old)
    event = Event.objects.get(event_id=old["eventId"])
    Event.objects.filter(pk=event.pk).update(received_at=new.received_at - timedelta(seconds=5))
    event_services.event_process(event.pk)
    assert ActionResponse.objects.get(action_id=poll.action_id).answers == ["Salad"]
    assert tally(poll) == {(0, 2): 1}


def test_refresh_from_kaizala_reads_the_responses_once_however_often(poll, sandbox, django_capture_on_commit_callbacks):
    for n, choice in enumerate(["Pizza", "Dosa", "Dosa"], start=10):
        answer_at_sandbox(sandbox, poll, member_phone(n), choice)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.action_refresh(message=poll, actor=SYSTEM)
    assert ActionResponse.objects.filter(action_id=poll.action_id).count() == 3
    assert tally(poll) == {(0, 0): 1, (0, 1): 2}
    work = ActionWork.objects.get(message=poll)
    assert work.refresh_requested_at is None and work.refreshed_at is not None and work.refresh_error == ""
    assert AuditRecord.objects.filter(kind="action_refresh_requested", object_id=str(poll.pk)).count() == 2
    assert len(sandbox.calls(route="actionDetails")) >= 2


def test_events_and_a_refresh_of_the_same_answers_agree(poll, group, sandbox, django_capture_on_commit_callbacks):
    subscription = listening(group)
    rows = [answer_at_sandbox(sandbox, poll, member_phone(n), "Pizza") for n in range(20, 24)]
    for row in rows[:2]:
        deliver_and_process(subscription, response_event(poll, response_id=row["responseId"], phone=row["responder"],
                                                         answers=row["answers"]))
    with django_capture_on_commit_callbacks(execute=True):
        services.action_refresh(message=poll, actor=SYSTEM)
    for row in rows[2:]:
        deliver_and_process(subscription, response_event(poll, response_id=row["responseId"], phone=row["responder"],
                                                         answers=row["answers"]))
    assert ActionResponse.objects.filter(action_id=poll.action_id).count() == 4
    assert tally(poll) == {(0, 0): 4}


def test_a_second_refresh_while_one_runs_is_refused(poll):
    ActionWork.objects.create(message=poll, refresh_requested_at=timezone.now())
    with pytest.raises(services.ActionRefused, match="already running"):
        services.action_refresh(message=poll, actor=SYSTEM)


def test_a_failed_refresh_says_why_and_can_be_asked_again(poll, sandbox, django_capture_on_commit_callbacks):
    sandbox.inject_fault(method="GET", path=f"*/actions/{poll.action_id}", status=404, count=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.action_refresh(message=poll, actor=SYSTEM)
    work = ActionWork.objects.get(message=poll)
    assert work.refresh_requested_at is None and work.refresh_error.startswith("Kaizala")
    with django_capture_on_commit_callbacks(execute=True):
        services.action_refresh(message=poll, actor=SYSTEM)
    assert ActionWork.objects.get(message=poll).refresh_error == ""


@pytest.mark.parametrize("answers", [
    {"weird": 1}, [42, "extra"], ["Maybe"], [["Pizza", "Dosa"]], [True], "Pizza", None,
], ids=["object", "index-and-extra", "not-an-option", "list-for-single", "bool", "bare-string", "null"])
def test_unexpected_answers_are_kept_and_shown_raw(answers, poll, group, client_for):
    subscription = listening(group)
    raw = response_event(poll, response_id="r-odd", phone=member_phone(30), answers=None)
    # Not §14.7's shape: the undocumented `response.answers` of some clients, holding anything at all.
    raw["data"]["responseDetails"] = {"response": {"answers": answers}}
    event = deliver_and_process(subscription, raw)
    assert event.processed_at is not None, event.error
    row = ActionResponse.objects.get(action_id=poll.action_id)
    client = client_for(Role.VIEWER)
    page = client.get(f"/actions/{poll.pk}/")
    assert page.status_code == 200
    assert row.has_unexpected == (answers is not None)
    live = client.get(f"/actions/{poll.pk}/live/")
    assert live.status_code == 200
    csv = b"".join(client.get(f"/actions/{poll.pk}/responses.csv").streaming_content).decode()
    assert member_phone(30) in csv


def test_an_unexpected_value_is_flagged_and_its_raw_json_is_on_the_page(poll, group, client_for):
    subscription = listening(group)
    deliver_and_process(subscription, response_event(poll, response_id="r-x", phone=member_phone(31),
                                                     answers=[{"choice": "<b>Pizza</b>"}]))
    row = ActionResponse.objects.get(action_id=poll.action_id)
    assert row.has_unexpected and tally(poll) == {}
    page = client_for(Role.VIEWER).get(f"/actions/{poll.pk}/").content.decode()
    assert "&quot;choice&quot;: &quot;&lt;b&gt;Pizza&lt;/b&gt;&quot;" in page
    assert "not counted in the charts" in page


def test_a_response_event_without_an_action_id_fails_with_a_sentence(poll, group):
    subscription = listening(group)
    raw = response_event(poll, response_id="r-y", phone=member_phone(32), answers=["Pizza"])
    del raw["data"]["actionId"]
    event = deliver_and_process(subscription, raw)
    assert event.processed_at is None and "names no action" in event.error
    assert not ActionResponse.objects.exists()


def test_a_job_completion_from_its_event(group, sandbox, client_for):
    from tests.actions.conftest import send_action

    job = send_action(group, "job", {"title": "Check the pump", "assignees": [member_phone(40), member_phone(41)],
                                     "due_hours": 24})
    subscription = listening(group)
    raw = response_event(job, response_id="r-j", phone=member_phone(40), completed=True, event_type="JobResponse")
    deliver_and_process(subscription, raw)
    assert ActionResponse.objects.get(action_id=job.action_id).is_completed is True
    page = client_for(Role.VIEWER).get(f"/actions/{job.pk}/").content.decode()
    assert 'data-testid="completed-count">1<' in page


def test_a_response_that_outran_the_send_is_tallied_by_the_sweep(poll, group):
    from messaging.models import Message

    subscription = listening(group)
    action_id = poll.action_id
    Message.objects.filter(pk=poll.pk).update(action_id="")
    deliver_and_process(subscription, response_event(poll, response_id="r-early", phone=member_phone(50),
                                                     answers=["Dosa"]))
    assert not ActionResponse.objects.get(action_id=action_id).tallied
    Message.objects.filter(pk=poll.pk).update(action_id=action_id)
    services.action_work_sweep()
    assert ActionResponse.objects.get(action_id=action_id).tallied
    assert tally(poll) == {(0, 1): 1}


def test_survey_answers_tally_per_question_and_fill_the_csv(survey, group, client_for):
    subscription = listening(group)
    answers = [["Morning", ["Drill", "Tape"], "=HYPERLINK(\"http://x\")", 7],
               ["Evening", ["Tape"], "All good", 3],
               [1, [0, 1], "", 5]]
    for n, given in enumerate(answers):
        deliver_and_process(subscription, response_event(survey, response_id=f"s-{n}", phone=member_phone(60 + n),
                                                         answers=given, event_type="SurveyResponse"))
    assert tally(survey) == {(0, 0): 1, (0, 1): 2, (1, 0): 2, (1, 1): 1, (1, 2): 2}
    client = client_for(Role.VIEWER)
    lines = b"".join(client.get(f"/actions/{survey.pk}/responses.csv").streaming_content).decode().splitlines()
    assert lines[0].lstrip("\ufeff").split(",")[5:9] == ["Which shift?", "Tools used", "Notes", "Hours"]
    assert len(lines) == 4
    assert any("'=HYPERLINK" in line for line in lines), "a formula-like cell is not made safe"
    assert any("Evening,Drill; Saw" in line for line in lines)
