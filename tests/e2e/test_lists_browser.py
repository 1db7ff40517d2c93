"""In the system Chromium: bulk cancel from the message list (select all, a confirmation saying how many, a
result per row); the compose form showing only the fields that apply and naming its button's action; the
dashboard's charts (sends, posts from members) drawn by the vendored Chart.js. Screenshots in test-artifacts/."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from groups.models import Group
from messaging.models import Message
from tests.e2e.test_deactivation_browser import log_in
from tests.events.conftest import make_subscription
from tests.events.test_conversation_and_inbox import post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Message.Status


def messages(group, n, **fields):
    now = timezone.now()
    return Message.objects.bulk_create(
        Message(group=group, text=f"notice {i}", broadcast_id=uuid.uuid4(), due_at=now + timedelta(hours=i + 1),
                scheduled_for=now + timedelta(hours=i + 1), status_changed_at=now, **fields) for i in range(n))


def test_bulk_cancel_asks_how_many_then_says_what_happened_to_each(live_server, page, screenshot, make_user, group):
    waiting = messages(group, 3)
    sent = messages(group, 1, status=S.SENT)
    make_user("olga", Role.OPERATOR)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/messages/")
    page.get_by_label("Choose every message on this page").check()  # shown and wired by select_all.js
    assert page.locator("input[name=ids]:checked").count() == 4
    screenshot(page, "bulk-cancel-chosen")
    page.get_by_role("button", name="Cancel…").click()
    page.get_by_text("3 messages of the 4 chosen will be cancelled.").wait_for()
    assert "1 message sent will be left alone." in page.content()
    assert not Message.objects.filter(status=S.CANCELLED).exists()  # asking changed nothing
    screenshot(page, "bulk-cancel-confirm")
    page.get_by_role("button", name="Cancel 3 messages").click()
    page.get_by_text("3 cancelled, 1 left alone.").wait_for()
    assert page.locator("[data-testid=bulk-outcome][data-done='1']").count() == 3
    screenshot(page, "bulk-cancel-result")
    assert set(Message.objects.filter(pk__in=[m.pk for m in waiting]).values_list("status", flat=True)) == {
        S.CANCELLED}
    assert Message.objects.get(pk=sent[0].pk).status == S.SENT


def test_compose_shows_only_what_applies_and_names_the_action(live_server, page, screenshot, make_user, group):
    Group.objects.create(phone_user=group.phone_user, kaizala_id="public@1", name="Citizens hub",
                         state=Group.State.ACTIVE, group_type=Group.Type.CONNECT_GROUP)
    make_user("rita", Role.OPERATOR)
    log_in(page, live_server, "rita")
    page.goto(f"{live_server.url}/messages/compose/")
    button = page.locator("#compose-submit")
    audience = page.get_by_test_id("audience")
    assert button.inner_text() == "Send now"
    assert not audience.is_visible() and not page.locator("#id_send_at").is_visible()
    assert not page.locator("#id_frequency").is_visible()
    screenshot(page, "compose-now")

    page.get_by_placeholder("Find a group or phone user").fill("citi")
    assert not page.get_by_text("Field team").is_visible() and page.get_by_text("Citizens hub").is_visible()
    page.get_by_label("Citizens hub").check()
    assert audience.is_visible()  # a public group is chosen: its subscribers can be chosen too
    page.get_by_label("Citizens hub").uncheck()
    assert not audience.is_visible()

    page.get_by_label("At a date and time").check()
    assert button.inner_text() == "Schedule" and page.locator("#id_send_at").is_visible()

    page.get_by_label("Recurring").check()
    assert button.inner_text() == "Start schedule" and not page.locator("#id_send_at").is_visible()
    page.select_option("#id_frequency", "weekly")
    assert page.locator("#id_weekdays_0").is_visible() and not page.locator("#id_day_of_month").is_visible()
    screenshot(page, "compose-weekly")
    page.select_option("#id_frequency", "monthly")
    assert page.locator("#id_day_of_month").is_visible() and not page.locator("#id_weekdays_0").is_visible()
    page.select_option("#id_frequency", "daily")
    assert not page.locator("#id_day_of_month").is_visible() and not page.locator("#id_weekdays_0").is_visible()
    assert page.locator("#id_local_time").is_visible()
    screenshot(page, "compose-daily")


def test_the_dashboard_chart_is_drawn(live_server, page, screenshot, make_user, group):
    messages(group, 4, status=S.SENT)
    make_user("vera", Role.VIEWER)
    log_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/")
    page.locator("#sends-day[data-drawn='1']").wait_for()
    screenshot(page, "dashboard-chart")


def test_the_dashboard_inbound_chart_is_drawn(live_server, page, screenshot, make_user):
    group = make_subscription().group
    now = timezone.now()
    for hours_ago, n in ((0, 3), (2, 5), (5, 1), (30, 4)):
        for i in range(n):
            post(group, f"hello {i}", at=now - timedelta(hours=hours_ago, minutes=i))
    make_user("vera", Role.VIEWER)
    log_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/")
    page.locator("#posts-day[data-drawn='1']").wait_for()
    page.get_by_role("tab", name="Last week").last.click()
    page.locator("#posts-week.show[data-drawn='1']").wait_for()
    page.get_by_role("tab", name="Last day").last.click()
    page.locator("#posts-day.show").wait_for()
    screenshot(page, "dashboard-inbound-chart")


def test_the_group_and_phone_user_menus_fill_when_opened_and_filter_the_list(live_server, page, make_user, group):
    other = Group.objects.create(phone_user=group.phone_user, kaizala_id="g@menu", name="Menu team",
                                 state=Group.State.ACTIVE)
    messages(group, 2)
    messages(other, 1)
    make_user("vera", Role.VIEWER)
    log_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/messages/")
    menu = page.locator("select[name=group]")
    assert menu.locator("option").count() == 1  # "Any group" until it is opened
    menu.hover()  # htmx fetches every group's option (groups:menu)
    menu.locator("option", has_text="Menu team").wait_for(state="attached")
    assert menu.locator("option").count() == 3
    menu.select_option(label="Menu team")
    phone_users = page.locator("select[name=phone_user]")
    phone_users.focus()  # the same for the phone-user menu (connectors:phone_user_menu)
    phone_users.locator("option", has_text=group.phone_user.mobile_number).wait_for(state="attached")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**/messages/?*group={other.pk}*")
    assert page.locator("[data-testid=message-row]").count() == 1
    assert page.locator("select[name=group] option:checked").inner_text() == "Menu team"
