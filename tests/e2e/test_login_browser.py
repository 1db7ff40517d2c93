import pytest

from accounts.roles import Role
from tests.fixtures.users import PASSWORD, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_and_land_on_the_dashboard(live_server, page, screenshot, make_user):
    alice = make_user("alice", Role.ADMIN)
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    screenshot(page, "login")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # An Admin has two-step login: the code page comes next.
    page.wait_for_url(f"{live_server.url}/login/code/?next=%2F")
    screenshot(page, "login-code")
    page.fill("#id_code", totp_code(alice))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("nav").get_by_text("Dashboard").is_visible()
    # The vendored Bootstrap loaded: the navbar is styled dark, not the browser's default.
    assert page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(33, 37, 41)"
    path = screenshot(page, "dashboard")
    assert path.stat().st_size > 5_000
