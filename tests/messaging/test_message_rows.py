"""The message table's rows, built by a template tag (messaging/templatetags/message_rows.py): what the row template
showed, in the reader's time zone, every text escaped."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone

from groups.models import Group
from messaging.models import Message


def _row(**fields) -> str:
    values = {"pk": 7, "group": Group(name="<b>Team</b>"), "text": "hello", "status": Message.Status.SENT,
              "due_at": timezone.now(), "scheduled_for": datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
              "sent_at": None, "attempt_count": 0, **fields}
    return render_to_string("messaging/partials/message_table.html", {"rows": [Message(**values)]})


def test_times_are_shown_in_the_readers_time_zone():
    with timezone.override(ZoneInfo("Asia/Kolkata")):
        html = _row(status=Message.Status.RETRYING, due_at=datetime(2026, 3, 29, 1, 2, 3, tzinfo=UTC),
                    sent_at=datetime(2026, 3, 29, 0, 0, 9, tzinfo=UTC))
    assert ">2026-03-29 06:00</a>" in html  # scheduled for
    assert "next 06:32:03" in html  # a retrying message's next attempt
    assert ">2026-03-29 05:30:09</td>" in html  # sent


def test_long_and_non_ascii_text_is_cut_at_80_characters_and_every_text_is_escaped():
    html = _row(text="é" * 79 + "<script>" + "x" * 10)
    assert "é" * 79 + "…</td>" in html
    assert "<script>" not in html and "<b>Team</b>" not in html and "&lt;b&gt;Team&lt;/b&gt;" in html


def test_an_unsent_message_shows_a_dash_and_an_overdue_one_its_badge():
    html = _row(status=Message.Status.SCHEDULED, due_at=timezone.now() - timedelta(minutes=5))
    assert '<td class="text-nowrap small">—</td>' in html
    assert ">overdue</span>" in html
