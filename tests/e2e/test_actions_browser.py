"""A person composes a poll in the system Chromium, sees its card in the live preview, sends it (a real worker
and beat), and a member votes from the sandbox's phone page; a survey's questions are composed and previewed."""

from urllib.parse import quote

import pytest

from accounts.roles import Role
from messaging.models import Message
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _login(page, live_server, make_user):
    make_user("olga", Role.OPERATOR)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_compose_a_poll_preview_it_send_it_and_vote(live_server, page, screenshot, make_user, sandbox, group,
                                                    celery_beat):
    _login(page, live_server, make_user)
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

    page.goto(f"{sandbox.base_url}/_sandbox/?mobileNumber={quote(group.phone_user.mobile_number)}")
    card = page.locator(f"form.answer[data-action='{message.action_id}']")
    card.get_by_label("Riverside café").check()
    card.get_by_role("button", name="Vote").click()
    page.get_by_text("1 answer(s)").wait_for()
    screenshot(page, "sandbox-poll-answered")


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
