"""A session ends after SESSION_IDLE_TIMEOUT without a request, and SESSION_COOKIE_AGE after login however
active it is (time-machine moves the clock; each step is a real request through the middleware)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from accounts.roles import Role

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def signed_in(client) -> bool:
    response = client.get(reverse("dashboard"))
    if response.status_code == 302:
        assert response["Location"].startswith("/login/")
        assert "_auth_user_id" not in client.session
        return False
    assert response.status_code == 200
    return True


def test_the_defaults():
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_an_idle_session_is_logged_out(client, make_user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(make_user("alice", Role.VIEWER))
        assert signed_in(client)
        clock.shift(timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 1))
        assert not signed_in(client)
        assert b"logged out after 30\xc2\xa0minutes without activity" in client.get("/login/").content


def test_an_active_session_is_not(client, make_user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(make_user("alice", Role.VIEWER))
        for _ in range(12):  # three hours, a request every quarter of an hour
            clock.shift(timedelta(minutes=15))
            assert signed_in(client)


def test_the_idle_time_counts_from_the_last_request_not_the_login(client, make_user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(make_user("alice", Role.VIEWER))
        clock.shift(timedelta(minutes=25))
        assert signed_in(client)
        clock.shift(timedelta(minutes=25))  # 50 minutes after login, 25 after the last request
        assert signed_in(client)


def test_the_absolute_limit_holds_for_an_active_session(client, make_user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(make_user("alice", Role.VIEWER))
        steps = settings.SESSION_COOKIE_AGE // (20 * 60)  # a request every 20 minutes up to the limit
        for _ in range(steps):
            clock.shift(timedelta(minutes=20))
            assert signed_in(client)
        clock.shift(timedelta(minutes=20))
        assert not signed_in(client)
        assert b"Your session ended 8\xc2\xa0hours after you logged in" in client.get("/login/").content


def test_background_polling_does_not_keep_an_idle_session_alive(client, make_user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(make_user("alice", Role.VIEWER))
        for _ in range(4):  # a status partial polling for 40 minutes while nobody looks at the page
            clock.shift(timedelta(minutes=10))
            client.get(reverse("dashboard"), headers={"X-Console-Poll": "1"})
        assert not signed_in(client)


def test_every_polling_partial_says_it_is_polling():
    from pathlib import Path

    polling = [path for path in Path(settings.BASE_DIR).glob("*/templates/**/*.html")
               if 'hx-trigger="every' in path.read_text()]
    assert polling, "no polling partial found: the check below would prove nothing"
    for path in polling:
        assert '"X-Console-Poll": "1"' in path.read_text(), f"{path} polls without the X-Console-Poll header"
