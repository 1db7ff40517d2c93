"""12.8: the PIN wizard's "Send a new PIN" counts its cooldown down live and enables itself at zero,
without a reload (in the system Chromium; the script is a static file, as the CSP requires)."""

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
                                          pin_sent_at=timezone.now() - timedelta(seconds=56))
    make_user("alice", Role.ADMIN)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, live_server.url, "alice")  # password, then the code
    page.goto(f"{live_server.url}/phone-users/{phone_user.pk}/")

    button = page.get_by_role("button", name="Send a new PIN")
    assert button.is_disabled()
    first = button.inner_text()
    page.wait_for_function(
        "([el, first]) => el.innerText !== first", arg=[button.element_handle(), first], timeout=5_000)
    assert "(in " in button.inner_text() or button.is_enabled()  # counted down, no reload
    page.wait_for_function("el => !el.disabled", arg=button.element_handle(), timeout=15_000)
    assert button.inner_text().strip() == "Send a new PIN"
    assert not errors, errors
