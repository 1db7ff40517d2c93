"""The dashboard's chart of posts from members per hour: counted in the database (one query for the day and
the week), in the reader's time zone, handed to the static chart script through json_script."""

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from events import selectors
from tests.events.conftest import make_subscription
from tests.events.test_conversation_and_inbox import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    return make_subscription().group


def test_posts_are_counted_per_hour_in_one_query_and_posts_outside_the_week_are_left_out(group):
    now = timezone.now()
    with timezone.override(ZoneInfo("UTC")):
        hour = now.replace(minute=0, second=0, microsecond=0)
        for at in (hour, hour, hour + timedelta(seconds=1),  # this hour: 3
                   hour - timedelta(hours=3),  # three bars back
                   hour - timedelta(days=3),  # in the week, not the day
                   hour - timedelta(hours=167),  # the start of the week's first bar
                   hour - timedelta(hours=167, seconds=1),  # just before it: left out
                   hour + timedelta(hours=1, seconds=1)):  # ahead of our clock: in no bar, so left out
            post(group, "hello", at=at)
        with CaptureQueriesContext(connection) as queries:
            chart = selectors.inbound_per_hour(now)
    assert len(queries) == 1
    day, week = chart["day"], chart["week"]
    assert len(day["labels"]) == 24 and len(week["labels"]) == 168
    assert day["posts"][-1] == 3 and day["posts"][-4] == 1 and sum(day["posts"]) == 4
    assert sum(week["posts"]) == 6 and week["posts"][-3 * 24 - 1] == 1 and week["posts"][0] == 1
    assert chart["total"] == 6 and chart["zone"] == "UTC"


def test_hours_are_the_readers_in_a_half_hour_zone(group):
    kolkata = ZoneInfo("Asia/Kolkata")
    with timezone.override(kolkata):
        now = timezone.now()
        local_hour = now.astimezone(kolkata).replace(minute=0, second=0, microsecond=0)
        # Both in the reader's current hour, though in different UTC hours (Kolkata is UTC+5:30).
        post(group, "start of the hour", at=local_hour)
        post(group, "end of the hour", at=local_hour + timedelta(minutes=59))
        post(group, "the hour before", at=local_hour - timedelta(minutes=1))
        chart = selectors.inbound_per_hour(local_hour + timedelta(minutes=59, seconds=30))
    assert chart["zone"] == "Asia/Kolkata"
    assert chart["day"]["labels"][-1] == local_hour.strftime("%H:00")
    assert chart["day"]["posts"][-2:] == [1, 2]


def test_the_dashboard_carries_the_posts_chart_and_its_scripts(group, client_for):
    client = client_for(Role.VIEWER)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="no-posts"' in page and "js/dashboard_chart.js" not in page
    post(group, "hello", at=timezone.now() - timedelta(minutes=5))
    post(group, "hello again", at=timezone.now() - timedelta(minutes=4))
    page = client.get(reverse("dashboard")).content.decode()
    data = json.loads(re.search(r'<script id="posts-chart-data" type="application/json">(.*?)</script>',
                                page).group(1))
    assert sum(data["day"]["posts"]) == 2 and data["total"] == 2
    assert 'id="posts-chart-day"' in page and 'id="posts-chart-week"' in page
    # Loaded for the posts chart alone (no send in the week).
    assert 'data-testid="no-sends"' in page
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in page and "js/dashboard_chart.js" in page
    assert re.search(r"<script>\s*[^<]", page) is None  # no inline script (the CSP allows none)
