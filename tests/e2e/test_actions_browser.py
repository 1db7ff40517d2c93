"""Issue 15 in the system Chromium, through the UI only: an operator listens to a group, members join it on
the sandbox's phone page, the operator composes a poll (live preview) and sends it (a real worker and the
dispatcher), three members vote on their phones, and the results page's counts, tallies and chart follow with
no reload; the CSV export has their rows; "Remind those who have not answered" reaches the phones. Also: a
survey's questions composed and previewed, an image post, and the results and message pages of every kind.
Screenshots in test-artifacts/."""

import csv
import io
from pathlib import Path
from urllib.parse import quote

import pytest

from accounts.roles import Role
from actions.models import ActionResponse
from groups.models import GroupMember
from kaizala_console.celery import app as celery_app
from messaging.models import Message
from tests.fixtures.celery_worker import wait_for
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]

MEMBERS = ["+919810000001", "+919810000002", "+919810000003", "+919810000004"]
VOTES = ["Riverside café", "Riverside café", "Canteen"]  # from the first three members; the fourth does not answer


def _login(page, live_server, make_user):
    make_user("olga", Role.OPERATOR)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def _phone(browser):
    return browser.new_context(viewport={"width": 900, "height": 900}).new_page()


def _phone_of(phone, url: str):
    """`url` in a new page of the phone's context: the old page reloads itself every 2 s, and its reload could
    interrupt a navigation made from it. The old page is closed without waiting for it to go: waiting hung
    once until the test's time-out on a loaded machine (the page mid-reload), and nothing needs it gone."""
    fresh = phone.context.new_page()
    phone.close(run_before_unload=True)
    fresh.set_default_timeout(15_000)
    fresh.goto(url)
    return fresh


@pytest.mark.django_db(transaction=True)
def test_poll_composed_answered_on_phones_results_live_csv_and_reminder(
        live_server, page, browser, screenshot, make_user, sandbox, group, settings, celery_beat):
    settings.PUBLIC_BASE_URL = live_server.url
    _login(page, live_server, make_user)

    # Listen to the group. The session's worker started before this live server had an address, so the
    # webhook (whose callback URL is that address) is created in the live server itself.
    celery_app.conf.task_always_eager = True
    page.goto(f"{live_server.url}/groups/{group.pk}/")
    page.get_by_role("button", name="Listen to this group").click()
    page.get_by_test_id("listening-state").get_by_text("Listening").wait_for()
    celery_app.conf.task_always_eager = False

    # Four people join on their phones; the console learns of them from MemberAdded (through the worker).
    phone = _phone(browser)
    for person in MEMBERS:
        phone = _phone_of(phone, f"{sandbox.base_url}/_sandbox/?mobileNumber={quote(person)}")
        phone.get_by_role("button", name=f"Join “{group.name}”").click()
        phone.get_by_role("button", name=f"Join “{group.name}”").wait_for(state="detached")
    wait_for(lambda: GroupMember.objects.filter(group=group, mobile_number__in=MEMBERS).count() == 4, timeout=30,
             message="the four members to reach the console")

    # Compose the poll, with its preview; send it now: the dispatcher and the worker post it.
    page.goto(f"{live_server.url}/messages/compose/")
    page.get_by_label(group.name).check()
    page.locator("label[for=id_kind_2]").click()  # Poll
    assert page.locator("#id_text").is_hidden() and page.locator("#id_poll_question").is_visible()
    page.fill("#id_poll_question", "Where shall we have the team lunch?")
    page.fill("#id_poll_choices", "Canteen\nRiverside café\nOrder in")
    preview = page.get_by_test_id("preview")
    preview.get_by_text("Riverside café").wait_for()
    assert "Before it can be sent" not in preview.inner_text()
    screenshot(page, "compose-poll-preview")
    page.get_by_role("button", name="Send now").click()
    page.get_by_text("1 poll on the way").wait_for()
    page.locator("#message-status .badge", has_text="Sent").wait_for(timeout=30_000)
    message = Message.objects.get()
    assert message.kind == Message.Kind.POLL and message.action_id
    screenshot(page, "poll-sent")

    page.get_by_test_id("results-link").click()
    page.get_by_test_id("response-count").get_by_text("0").wait_for()
    page.evaluate("window.__notReloaded = true")

    # Three members vote on their phones, by clicking.
    for number, (person, choice) in enumerate(zip(MEMBERS, VOTES, strict=False), start=1):
        phone = _phone_of(phone, f"{sandbox.base_url}/_sandbox/?mobileNumber={quote(person)}")
        card = phone.locator(f"form.answer[data-action='{message.action_id}']")
        card.get_by_label(choice).check()
        card.get_by_role("button", name="Vote").click()
        phone.get_by_text(f"{number} answer(s)").wait_for()
    screenshot(phone, "sandbox-poll-answered")

    # The console's page follows without a reload: counts, tallies and the drawn chart.
    page.get_by_test_id("response-count").get_by_text("3").wait_for(timeout=30_000)
    page.get_by_test_id("response-rate").get_by_text("75%").wait_for()
    assert page.get_by_test_id("tally-q0").get_by_test_id("tally").all_inner_texts() == ["1", "2", "0"]
    page.wait_for_function("() => { const c = Chart.getChart('chart-q0');"
                           " return c && c.data.datasets[0].data.join() === '1,2,0'; }")
    assert page.evaluate("window.__notReloaded") is True
    assert page.get_by_test_id("not-answered").inner_text() == MEMBERS[3]  # a name that is the phone: once
    assert ActionResponse.objects.filter(action_id=message.action_id).count() == 3
    page.reload()  # the responses table is read with the page
    screenshot(page, "action-poll-results")

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:6] == ["Responded at", "Responder phone", "Responder name", "Response id", "Source",
                           "Where shall we have the team lunch?"]
    # A cell starting with + is one a spreadsheet reads as a formula: written with a leading ' (exports.py).
    assert sorted((r[1], r[5]) for r in rows[1:]) == sorted(
        zip([f"'{p}" for p in MEMBERS[:3]], VOTES, strict=True))

    # Remind those who have not answered: the worker posts it, the page says so, the phone shows it.
    page.get_by_test_id("remind").click()
    page.get_by_test_id("reminded").wait_for(timeout=30_000)
    reminders = [m for m in sandbox.messages(group.kaizala_id) if m["kind"] == "reminder"]
    assert len(reminders) == 1 and reminders[0]["actionId"] == message.action_id
    screenshot(page, "action-poll-reminded")
    phone = _phone_of(phone, f"{sandbox.base_url}/_sandbox/?mobileNumber={quote(MEMBERS[3])}")
    phone.get_by_text("[Reminder]").first.wait_for()
    screenshot(phone, "sandbox-poll-reminder")


def test_compose_a_survey_with_questions(live_server, page, screenshot, make_user, sandbox, group):
    _login(page, live_server, make_user)
    page.goto(f"{live_server.url}/messages/compose/?kind=survey")
    page.get_by_label(group.name).check()
    page.fill("#id_survey_title", "Site safety check")
    page.fill("#id_q-0-title", "Is every worker wearing a helmet?")
    page.fill("#id_q-0-options", "Yes\nNo")
    page.get_by_role("button", name="Add a question").click()
    page.fill("#id_q-1-title", "How many workers are on site?")
    page.select_option("#id_q-1-type", "Numeric")
    card = page.get_by_test_id("preview").get_by_test_id("card")
    card.get_by_text("How many workers are on site?").wait_for()
    card.get_by_text("(a number)").wait_for()  # the preview has caught up with the second question's type
    assert page.get_by_test_id("preview-problems").count() == 0
    screenshot(page, "compose-survey-preview")
    page.get_by_role("button", name="Send now").click()
    page.get_by_text("1 survey on the way").wait_for()
    message = Message.objects.get()
    assert [q["type"] for q in message.card["questions"]] == ["SingleOption", "Numeric"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def test_compose_an_image_post(live_server, page, screenshot, make_user, sandbox, group, tmp_path):
    _login(page, live_server, make_user)
    page.goto(f"{live_server.url}/messages/compose/?kind=image")
    page.get_by_label(group.name).check()
    photo = tmp_path / "site-visit.png"
    photo.write_bytes(PNG)
    page.set_input_files("#id_media_file", str(photo))
    page.fill("#id_caption", "The new pump house, north side")
    preview = page.get_by_test_id("preview")
    preview.get_by_text("The new pump house, north side").wait_for()
    preview.get_by_text("Attached: site-visit.png").wait_for()
    screenshot(page, "compose-image-preview")
    page.get_by_role("button", name="Send now").click()
    page.get_by_text("1 image on the way").wait_for()
    message = Message.objects.get()
    assert message.kind == Message.Kind.IMAGE and message.media.name == "site-visit.png"
    link = page.get_by_role("link", name="site-visit.png")
    assert link.get_attribute("href") == f"/messages/media/{message.media_id}/"


SURVEY = {"title": "Site safety check", "due_hours": 48, "anonymous": False, "multiple_responses": False,
          "questions": [
              {"title": "Is every worker wearing a helmet?", "type": "SingleOption", "options": ["Yes", "No"],
               "required": True},
              {"title": "Tools on site", "type": "MultiOption", "options": ["Drill", "Saw", "Tape"],
               "required": False},
              {"title": "How many workers?", "type": "Numeric", "options": [], "required": False},
              {"title": "Inspection day", "type": "Date", "options": [], "required": False},
              {"title": "Where", "type": "Location", "options": [], "required": False},
              {"title": "Notes", "type": "Text", "options": [], "required": False}]}


def test_results_and_message_pages_of_every_kind(live_server, page, screenshot, make_user, sandbox, group):
    """The results of a survey and a job (answered on the sandbox, read with "Refresh from Kaizala"), and the
    message page of every kind, as a person reads them."""
    from audit.actor import SYSTEM
    from messaging import services
    from tests.actions.conftest import add_members, join_at_sandbox, send_action

    people = MEMBERS[:3]
    for person in people:
        join_at_sandbox(sandbox, group, person)
    add_members(group, people)
    survey = send_action(group, "survey", SURVEY)
    job = send_action(group, "job", {"title": "Fix the pump at the north field", "assignees": people[:2],
                                     "due_hours": 24})
    answer = f"groups/{group.kaizala_id}/actions/{survey.action_id}/answer"
    sandbox._control("POST", answer, json={"from": people[0], "answer_0": "Yes", "answer_1": ["Drill", "Tape"],
                                           "answer_2": "12", "answer_3": "2026-03-01", "answer_4": "12.97, 77.59",
                                           "answer_5": "All good"})
    sandbox._control("POST", answer, json={"from": people[1], "answer_0": "No", "answer_2": "7.5"})
    sandbox._control("POST", f"groups/{group.kaizala_id}/actions/{job.action_id}/answer",
                     json={"from": people[0], "answer": "done"})
    others = [services.message_create(actor=SYSTEM, groups=[group], send_at=None, kind=kind, card=card,
                                      upload=upload)[0] for kind, card, upload in [
        (Message.Kind.ANNOUNCEMENT, {"title": "Office closed", "message": "Friday is a holiday."}, None),
        (Message.Kind.POLL, {"question": "Lunch on Friday?", "choices": ["Rice", "Roti"], "expiry_hours": 24}, None),
        (Message.Kind.LETS_MEET, {"title": "Monthly review", "starting_time": "2031-05-06T09:30:00+00:00",
                                  "duration_minutes": 45, "place": "Room 4", "latitude": None, "longitude": None,
                                  "agenda": "The numbers"}, None),
        (Message.Kind.IMAGE, {"caption": "The new pump house"},
         services.Upload(name="pump.png", data=PNG, content_type="image/png")),
    ]]
    services.dispatch()

    _login(page, live_server, make_user)
    for message, expected in ((survey, "2"), (job, "1")):
        page.goto(f"{live_server.url}/actions/{message.pk}/")
        page.get_by_test_id("refresh").click()
        page.get_by_test_id("response-count").get_by_text(expected).wait_for()
        page.reload()
        screenshot(page, f"action-{message.kind}-results")
    page.goto(f"{live_server.url}/actions/{survey.pk}/")
    table = page.get_by_test_id("responses").inner_text()
    for seen in ("Drill; Tape", "12", "7.5", "2026-03-01", "(12.97, 77.59)", "All good"):
        assert seen in table, seen
    assert "12.0" not in table and "(Numeric)" not in page.content()
    page.goto(f"{live_server.url}/actions/{job.pk}/")
    assert page.get_by_test_id("completed-count").inner_text() == "1"
    # A job's row: its completion under "Completed", one cell per heading.
    heads = page.get_by_test_id("responses").locator("thead th").all_inner_texts()
    assert heads == ["Responded", "Responder", "Completed", "Source"]
    assert page.get_by_test_id("responses").locator("tbody tr").first.locator("td").all_inner_texts()[2] == "Yes"

    for message in (survey, job, *others):
        message.refresh_from_db()
        page.goto(f"{live_server.url}/messages/{message.pk}/")
        card = page.get_by_test_id("card").first
        card.wait_for()
        if message.kind == Message.Kind.LETS_MEET:
            assert "6 May 2031" in card.inner_text() and "T09:30" not in card.inner_text()
        screenshot(page, f"message-detail-{message.kind}")


def test_edit_a_scheduled_poll(live_server, page, screenshot, make_user, sandbox, group):
    """The edit page shows the poll's own fields, filled from its card, and its preview follows the edit."""
    from datetime import timedelta

    from django.utils import timezone

    from audit.actor import SYSTEM
    from messaging import services

    [message] = services.message_create(
        actor=SYSTEM, groups=[group], kind="poll", send_at=timezone.now() + timedelta(hours=5),
        card={"question": "Team lunch on Friday?", "choices": ["Riverside café", "Canteen"], "expiry_hours": 720})
    _login(page, live_server, make_user)
    page.goto(f"{live_server.url}/messages/{message.pk}/")
    page.get_by_role("link", name="Edit").click()
    assert page.input_value("#id_poll_question") == "Team lunch on Friday?"
    assert not page.locator("#id_text").is_visible() and not page.locator("#id_survey_title").is_visible()
    page.fill("#id_poll_choices", "Riverside café\nCanteen\nPizza place")
    page.get_by_test_id("preview").get_by_test_id("card").get_by_text("Pizza place").wait_for()
    screenshot(page, "edit-scheduled-poll")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Message updated.").wait_for()
    message.refresh_from_db()
    assert message.card["choices"] == ["Riverside café", "Canteen", "Pizza place"]
