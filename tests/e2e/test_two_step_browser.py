"""Two-step login in Chromium: a recovery code logs in once and only once, and wrong codes end in the
login lockout."""

import pytest
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.roles import Role
from tests.fixtures.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RECOVERY_CODE = "k3y5t0n3"


def password_step(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "bea")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/login/code/?next=%2F")


def code_step(page, code: str) -> None:
    page.fill("#id_code", code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def test_a_recovery_code_works_once_and_wrong_codes_lock_out(live_server, page, screenshot, make_user, settings):
    bea = make_user("bea", Role.ADMIN)
    StaticDevice.objects.create(user=bea, name="Recovery codes").token_set.create(token=RECOVERY_CODE)

    password_step(page, live_server.url)
    code_step(page, RECOVERY_CODE)
    assert page.url == f"{live_server.url}/"
    assert page.locator("h1").inner_text() == "Dashboard"
    page.locator("nav .dropdown-toggle").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/login/")

    password_step(page, live_server.url)
    code_step(page, RECOVERY_CODE)
    assert page.get_by_text("not right, or was used already").is_visible()
    screenshot(page, "two-step-recovery-code-used")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):  # the used recovery code was the first failure
        code_step(page, "000000")
        StaticDevice.objects.filter(user=bea).update(throttling_failure_count=0)  # the devices' own delay aside
        bea.totpdevice_set.update(throttling_failure_count=0)
    page.get_by_text("Too many failed logins").wait_for()
    screenshot(page, "two-step-lockout")
    page.goto(f"{live_server.url}/connectors/")
    assert "/login/" in page.url
