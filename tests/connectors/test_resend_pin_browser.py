"""12.8: the PIN wizard's "Send a new PIN" counts its cooldown down live and enables itself at zero,
without a reload (in the system Chromium; the script is a static file, as the CSP requires).

The page's clock is Playwright's (page.clock): the test moves it on, so a slow page load on a loaded
machine cannot use up the cooldown before the first look."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from connectors.models import Connector, PhoneUser
from tests.fixtures.users import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_resend_button_counts_down_and_enables_itself(live_server, page, make_user, settings):
    settings.PIN_RESEND_COOLDOWN = 60
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812345678",
                                          state=PhoneUser.State.PIN_REQUESTED,
                                          pin_sent_at=timezone.now() - timedelta(seconds=30))
    make_user("alice", Role.ADMIN)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, live_server.url, "alice")  # password, then the code
    page.clock.install()
    page.goto(f"{live_server.url}/phone-users/{phone_user.pk}/")

    button = page.get_by_role("button", name="Send a new PIN")
    assert button.is_disabled()
    first = button.inner_text()
    page.clock.run_for(3_000)
    assert button.is_disabled() and "(in " in button.inner_text() and button.inner_text() != first  # counts down
    page.clock.run_for(40_000)
    page.wait_for_function("el => !el.disabled", arg=button.element_handle(), timeout=5_000)
    assert button.inner_text().strip() == "Send a new PIN"
    assert not errors, errors
