"""In the system Chromium: the recurring "From" date shows its value; an Admin deactivates a connector after a
page that says what it holds, and the dashboard then says why a message waits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM
from connectors.models import Connector
from messaging import services
from messaging.models import Message
from tests.fixtures.users import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    browser_login(page, live_server.url, username)  # the password, then the code an Admin must type


def test_the_recurring_from_date_shows_today(live_server, page, screenshot, make_user, group):
    make_user("rita", Role.OPERATOR)
    log_in(page, live_server, "rita")
    page.goto(f"{live_server.url}/messages/compose/")
    page.get_by_label("Recurring").check()
    # The browser's own reading of the input: blank when the server wrote a date it cannot parse.
    assert page.input_value("#id_start_date") == timezone.localdate().isoformat()
    screenshot(page, "compose-recurring")


def test_deactivating_a_connector_asks_first_and_the_dashboard_says_why_a_message_waits(
        live_server, page, screenshot, make_user, group, django_capture_on_commit_callbacks):
    make_user("ada", Role.ADMIN)
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="for later",
                                        send_at=timezone.now() + timedelta(hours=1))
    connector = group.phone_user.connector
    log_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/connectors/{connector.pk}/")
    page.get_by_role("link", name="Deactivate…").click()
    page.get_by_text("1 scheduled message to its groups will be held").wait_for()
    screenshot(page, "connector-deactivate-confirm")
    assert Connector.objects.get(pk=connector.pk).is_active  # asking changed nothing
    page.get_by_role("button", name="Deactivate it").click()
    page.get_by_text("deactivated.").first.wait_for()
    assert not Connector.objects.get(pk=connector.pk).is_active

    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())  # it falls due
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch()
    page.goto(f"{live_server.url}/")
    page.get_by_text("Held messages").wait_for()
    assert "their connector is deactivated" in page.content()
    screenshot(page, "dashboard-held")
