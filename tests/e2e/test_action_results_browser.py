"""The results of a poll, in Chromium: a listened-to group, a poll sent to it; three members answer on the
sandbox and the page's counts, tallies and chart follow with no reload; the CSV export has their rows;
"Remind those who have not answered" reaches the sandbox. Screenshot: test-artifacts/action-poll-results.png.

Tasks run eagerly in the live server (the worker's part is covered by tests/actions/test_reliability.py)."""

import csv
import io
from pathlib import Path

import pytest

from accounts.roles import Role
from actions.models import ActionResponse
from audit.actor import SYSTEM
from events import services as event_services
from events.models import Subscription
from groups.models import GroupMember
from tests.actions.conftest import POLL_CARD, join_at_sandbox, member_phone, send_action
from tests.fixtures.celery_worker import wait_for
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_poll_results_follow_the_answers_live(live_server, page, screenshot, make_user, sandbox, group, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    subscription = event_services.subscription_create(group=group, actor=SYSTEM)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.ACTIVE, subscription.last_error
    people = [member_phone(n) for n in range(1, 7)]
    for phone in people:
        join_at_sandbox(sandbox, group, phone)
    wait_for(lambda: GroupMember.objects.filter(group=group, mobile_number__in=people).count() == 6,
             message="the six members to reach the console")
    poll = send_action(group, "poll", POLL_CARD)

    make_user("omar", Role.OPERATOR)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "omar")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/messages/{poll.pk}/")
    page.get_by_test_id("results-link").click()
    page.get_by_test_id("response-count").get_by_text("0").wait_for()
    page.evaluate("window.__notReloaded = true")

    for phone, choice in zip(people[:3], ["Dosa", "Dosa", "Pizza"], strict=True):
        sandbox._control("POST", f"groups/{group.kaizala_id}/actions/{poll.action_id}/answer",
                         json={"from": phone, "answer": choice})
    page.get_by_test_id("response-count").get_by_text("3").wait_for()
    page.get_by_test_id("response-rate").get_by_text("50%").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    assert page.get_by_test_id("tally-q0").get_by_test_id("tally").all_inner_texts() == ["1", "2", "0"]
    page.locator("[data-chart][data-drawn]").first.wait_for()
    assert ActionResponse.objects.filter(action_id=poll.action_id).count() == 3
    page.reload()  # the responses table is read with the page
    screenshot(page, "action-poll-results")

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:6] == ["Responded at", "Responder phone", "Responder name", "Response id", "Source",
                           "Lunch on Friday?"]
    # A cell starting with + is one a spreadsheet reads as a formula: written with a leading ' (exports.py).
    assert sorted((r[1], r[5]) for r in rows[1:]) == sorted(
        zip([f"'{p}" for p in people[:3]], ["Dosa", "Dosa", "Pizza"], strict=True))

    page.get_by_test_id("remind").click()
    page.get_by_test_id("reminded").wait_for()
    reminders = [m for m in sandbox.messages(group.kaizala_id) if m["kind"] == "reminder"]
    assert len(reminders) == 1 and reminders[0]["actionId"] == poll.action_id
