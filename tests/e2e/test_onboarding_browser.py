"""A person registers a connector in the sandbox, onboards a phone with the PIN it received, and sees
it active — in the system Chromium, with a real Celery worker making the Kaizala calls."""

import pytest

from accounts.roles import Role
from connectors.models import PhoneUser
from tests.fixtures.users import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.integration]
MOBILE = "+919876500001"


def test_register_a_connector_and_onboard_a_phone(
    live_server, page, screenshot, make_user, sandbox, celery_worker, settings
):
    settings.KAIZALA_AUTH_URL = sandbox.base_url
    settings.KAIZALA_SANDBOX_URL = sandbox.base_url
    make_user("alice", Role.ADMIN)
    browser_login(page, live_server.url, "alice")  # password, then the code

    page.get_by_role("link", name="Connectors").click()
    page.get_by_role("link", name="Register a connector").click()
    page.fill("#sandbox-name", "Demo org")
    screenshot(page, "connector-register")
    page.get_by_role("button", name="Create in sandbox").click()
    page.get_by_text("created in the sandbox and registered here").wait_for()
    assert page.locator("h1").inner_text().startswith("Demo org")

    page.get_by_role("link", name="Onboard a phone").click()
    page.fill("#id_mobile_number", MOBILE)
    page.get_by_role("button", name="Send PIN").click()
    # htmx polls until the worker has asked Kaizala for the PIN, then shows the PIN form.
    page.get_by_text("Type it here").wait_for()
    assert page.get_by_role("link", name="Read the PIN in the sandbox").is_visible()
    page.fill("#id_pin", sandbox.latest_pin(MOBILE))
    screenshot(page, "onboarding-pin")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Active: the console can act as this phone").wait_for()
    screenshot(page, "onboarding-active")
    assert PhoneUser.objects.get(mobile_number=MOBILE).state == PhoneUser.State.ACTIVE

    page.get_by_role("link", name="Phone users").click()
    row = page.locator("tr", has_text=MOBILE)
    assert "Active" in row.inner_text()
    screenshot(page, "phone-users")
