"""The dashboard's sends-per-hour charts: counted in the database (one query for the day and the week), in
the reader's time zone, handed to a static script through json_script with the vendored Chart.js."""

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
from messaging import selectors
from messaging.models import Message

pytestmark = pytest.mark.django_db
S = Message.Status


def outcome(make_messages, status, ago, n=1):
    made = make_messages(n, status=status)
    Message.objects.filter(pk__in=[m.pk for m in made]).update(status_changed_at=timezone.now() - ago)


def test_sends_are_counted_per_hour_by_outcome_in_one_query(make_messages):
    outcome(make_messages, S.SENT, timedelta(minutes=1), n=3)
    outcome(make_messages, S.FAILED, timedelta(minutes=2))
    outcome(make_messages, S.UNCONFIRMED, timedelta(hours=3))
    outcome(make_messages, S.SENT, timedelta(days=3), n=2)
    outcome(make_messages, S.SENT, timedelta(days=8))  # older than a week: not shown
    outcome(make_messages, S.SCHEDULED, timedelta(minutes=1))  # not an outcome
    with CaptureQueriesContext(connection) as queries:
        chart = selectors.sends_per_hour(timezone.now())
    assert len(queries) == 1
    day, week = chart["day"], chart["week"]
    assert len(day["labels"]) == 24 and len(week["labels"]) == 168
    assert (day["sent"][-1], day["failed"][-1], day["unconfirmed"][-4]) == (3, 1, 1)
    assert sum(day["sent"]) == 3 and sum(week["sent"]) == 5 and chart["total"] == 7


def test_hours_are_the_readers_in_a_half_hour_zone(make_messages):
    outcome(make_messages, S.SENT, timedelta(0))
    with timezone.override(ZoneInfo("Asia/Kolkata")):
        now = timezone.now()
        chart = selectors.sends_per_hour(now)
    assert chart["zone"] == "Asia/Kolkata"
    assert chart["day"]["labels"][-1] == now.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:00")
    assert chart["day"]["sent"][-1] == 1


def test_the_page_carries_the_numbers_and_the_scripts(client_for, make_messages):
    client = client_for(Role.VIEWER)
    assert 'data-testid="no-sends"' in client.get(reverse("dashboard")).content.decode()
    outcome(make_messages, S.SENT, timedelta(minutes=5), n=2)
    page = client.get(reverse("dashboard")).content.decode()
    data = json.loads(re.search(r'<script id="send-chart-data" type="application/json">(.*?)</script>', page).group(1))
    assert sum(data["day"]["sent"]) == 2
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in page and "js/dashboard_chart.js" in page
    assert re.search(r"<script>\s*[^<]", page) is None  # no inline script (the CSP allows none)


def test_the_totals_are_kept_for_the_configured_seconds_and_the_page_says_when_they_were_counted(
        client_for, make_messages, settings):
    from django.core.cache import cache

    cache.clear()
    settings.DASHBOARD_TOTALS_SECONDS = 60
    client = client_for(Role.VIEWER)
    outcome(make_messages, S.FAILED, timedelta(minutes=5))
    first = client.get(reverse("dashboard")).content.decode()
    outcome(make_messages, S.FAILED, timedelta(minutes=5), n=2)
    kept = client.get(reverse("dashboard")).content.decode()
    counted_at = re.search(r'data-testid="totals-as-of">Counts and charts as of (\d\d:\d\d:\d\d) \(recounted at most '
                           r'every 60 s\)', kept)
    assert counted_at and counted_at.group(1) in first
    failed = r'status=failed">\s*<div class="card-body py-2"><div class="small text-secondary">Failed</div>' \
             r'<div class="display-6">(\d+)</div>'
    assert re.search(failed, first).group(1) == re.search(failed, kept).group(1) == "1"  # kept, not recounted
    cache.clear()
    assert re.search(failed, client.get(reverse("dashboard")).content.decode()).group(1) == "3"


def test_due_figures_are_counted_by_one_thread_while_the_others_show_the_last_ones(settings):
    from django.core.cache import cache

    from kaizala_console import kept as kept_module

    settings.DASHBOARD_TOTALS_SECONDS = 5
    cache.clear()
    counted = []
    first = kept_module.kept("test", lambda: counted.append(1) or {"n": len(counted)})
    assert first["n"] == 1 and kept_module.kept("test", lambda: {"n": 99}) == first  # fresh: kept
    key = f"kept:test:{timezone.get_current_timezone_name()}"
    cache.set(key, {**first, "as_of": first["as_of"] - timedelta(seconds=6)})  # due again
    with kept_module._counting:  # another thread is counting: the last figures are shown, not counted again
        assert kept_module.kept("test", lambda: {"n": 99})["n"] == 1
    recounted = kept_module.kept("test", lambda: {"n": 2})
    assert recounted["n"] == 2 and recounted["as_of"] > first["as_of"]
