"""A person schedules a message a few seconds ahead from the form and watches it become sent — in the
system Chromium, with a real worker and beat — then sees it in the sandbox's phone view."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from accounts.roles import Role
from messaging.models import Message
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_schedule_a_message_and_see_it_sent(live_server, page, screenshot, make_user, sandbox, group, celery_beat):
    make_user("olga", Role.OPERATOR)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.get_by_role("link", name="Compose a message").click()
    page.get_by_label(group.name).check()
    page.fill("#id_text", "Shift starts at 9 — bring your badge")
    assert page.locator("#text-counter").inner_text() == "36 / 4000"
    page.get_by_label("At a date and time").check()
    send_at = timezone.localtime(timezone.now() + timedelta(seconds=6))
    page.fill("#id_send_at", send_at.strftime("%Y-%m-%dT%H:%M:%S"))
    screenshot(page, "compose")
    page.get_by_role("button", name="Schedule").click()

    page.get_by_text("1 message scheduled").wait_for()
    assert "Scheduled" in page.locator("#message-status").inner_text()
    # htmx polls the status; the page reloads when the message is sent.
    page.locator("#message-status .badge", has_text="Sent").wait_for(timeout=30_000)
    screenshot(page, "message-sent")
    message = Message.objects.get()
    assert message.status == Message.Status.SENT and message.reference_id

    page.goto(f"{sandbox.base_url}/_sandbox/?mobileNumber={quote(group.phone_user.mobile_number)}")
    page.get_by_text("Shift starts at 9 — bring your badge").wait_for()
    screenshot(page, "sandbox-phone-view")
