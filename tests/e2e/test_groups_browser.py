"""An operator creates a group with three members from the form, watches it become active (a real
Celery worker makes the Kaizala calls), and the members' phones see it in the sandbox."""

from urllib.parse import quote

import pytest

from accounts.roles import Role
from groups.models import Group
from tests.fixtures.console import MOBILE
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]
MEMBERS = ["+919700000001", "+919700000002", "+919700000003"]


def test_create_a_group_with_three_members(live_server, page, screenshot, make_user, make_phone_user,
                                           sandbox, celery_worker):
    make_phone_user()
    make_user("olivia", Role.OPERATOR)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.get_by_role("link", name="Groups").click()
    page.get_by_role("link", name="Create a group").click()
    page.select_option("#id_phone_user", label=f"{MOBILE} (Test connector)")
    page.fill("#id_name", "Field staff <North>")
    page.fill("#id_welcome_message", "Welcome to the field staff group!")
    page.fill("#id_members", "\n".join([*MEMBERS, MEMBERS[0]]))
    screenshot(page, "group-create-form")
    page.get_by_role("button", name="Create group").click()

    # htmx polls while the worker creates the group, then reloads the page with the members.
    page.get_by_test_id("group-state").get_by_text("Active").wait_for()
    assert page.locator("h1").inner_text() == "Field staff <North>"
    assert page.get_by_test_id("member-row").count() == 4  # the three, and the phone user as admin
    screenshot(page, "group-detail-active")
    group = Group.objects.get()
    assert group.state == Group.State.ACTIVE

    page.locator("#nav").get_by_role("link", name="Groups").click()
    assert "Field staff <North>" in page.locator("tr", has_text="Field staff").inner_text()
    screenshot(page, "group-list")

    page.goto(f"{sandbox.base_url}/_sandbox/?mobileNumber={quote(MEMBERS[1])}")
    page.get_by_text("Field staff <North>").first.wait_for()
    screenshot(page, "group-in-sandbox-phone")
