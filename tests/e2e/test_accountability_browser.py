"""Issue 17, done when: an Admin invites a user in Chromium, the user sets a password and enrols the second
step, schedules a message; the Admin sees both actions in the audit trail with who, when and what."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from connectors.models import Connector, PhoneUser
from groups.models import Group
from messaging.models import Message
from tests.fixtures.users import browser_login, totp_code_for_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "harbour-lantern-quiet-58"


def test_an_admin_invites_a_user_who_enrols_and_schedules_and_the_trail_shows_it(
    live_server, browser, page, screenshot, make_user, settings
):
    settings.TWO_STEP_REQUIRED_FOR_ALL = True  # the invited Operator enrols too
    connector = Connector.objects.create(name="Org", application_id="app-e2e", application_secret="s")
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812300001",
                                          state=PhoneUser.State.ACTIVE)
    Group.objects.create(phone_user=phone_user, kaizala_id="g@e2e", name="Field team", state=Group.State.ACTIVE)
    make_user("ada", Role.ADMIN)

    # The Admin invites Uma as an Operator; no mail is configured, so the page shows the link.
    browser_login(page, live_server.url, "ada")
    page.goto(f"{live_server.url}/users/")
    page.get_by_role("link", name="Invite a user").click()
    page.fill("#id_username", "uma")
    page.select_option("#id_role", label="Operator")
    page.get_by_role("button", name="Invite").click()
    notice = page.get_by_text("give them this link").inner_text()
    screenshot(page, "accounts-invited")
    link = re.search(r"https?://\S+/set-password/\S+/", notice).group(0)

    # Uma, in her own browser: sets a password, logs in, enrols the second step, schedules a message.
    uma_context = browser.new_context(viewport={"width": 1280, "height": 800})
    uma = uma_context.new_page()
    uma.set_default_timeout(15_000)
    uma.goto(link)
    uma.fill("#id_new_password1", NEW_PASSWORD)
    uma.fill("#id_new_password2", NEW_PASSWORD)
    uma.get_by_role("button", name="Set password").click()
    uma.get_by_text("Your password is in use").wait_for()
    uma.goto(f"{live_server.url}/login/")
    uma.fill("#id_username", "uma")
    uma.fill("#id_password", NEW_PASSWORD)
    uma.click("button[type=submit]")
    uma.wait_for_url(re.compile(r".*/two-step/enrol/.*"))
    assert uma.locator("img[src^='data:image/svg+xml']").is_visible()
    screenshot(uma, "accounts-enrol")
    uma.fill("#id_code", totp_code_for_key(uma.locator("#totp-key").inner_text()))
    uma.get_by_role("button", name="Turn on two-step login").click()
    assert uma.locator("#recovery-codes li").count() == 10
    screenshot(uma, "accounts-recovery-codes")
    uma.get_by_role("link", name="continue").click()

    uma.goto(f"{live_server.url}/messages/compose/")
    uma.get_by_label("Field team").check()
    uma.fill("#id_text", "Inventory count on Friday")
    uma.get_by_label("At a date and time").check()
    uma.fill("#id_send_at", timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    uma.get_by_role("button", name="Schedule").click()  # the button names what it will do
    uma.get_by_text("1 message scheduled").wait_for()
    message = Message.objects.get()
    assert message.created_by.username == "uma"
    uma_context.close()

    # The Admin sees who did what, and when, in the audit trail.
    page.goto(f"{live_server.url}/audit/")
    rows = page.locator("tbody tr")
    trail = [rows.nth(i).inner_text() for i in range(rows.count())]
    screenshot(page, "accounts-audit-trail")
    today = timezone.now().strftime("%Y-%m-%d")

    def row(actor: str, what: str) -> str:
        found = [r for r in trail if actor in r and what in r]
        assert found, f"no row by {actor} saying {what!r} in {trail}"
        return found[0]

    assert today in row("ada", "uma invited as Operator")
    assert today in row("uma", "turned on two-step login")
    assert today in row("uma", f"Message {message.pk} to “Field team” composed for")
    assert today in row("uma", "uma logged in")
