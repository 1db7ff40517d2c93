"""The audit trail's and the Inbox's older pages start their index scan at the cursor (PostgreSQL), instead of
reading every newer row and throwing it away as OFFSET did."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.selectors import page_after, record_list
from events.filters import InboxFilter, inbox_cursor
from events.models import InboundPost
from events.selectors import inbox

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")]


def plan(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: force the plan PostgreSQL makes at scale
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_an_older_audit_page_starts_the_index_scan_at_the_cursor():
    with CaptureQueriesContext(connection) as queries:
        page_after(record_list(), (timezone.now() - timedelta(days=1), 42))
    shown = plan(queries.captured_queries[-1]["sql"])
    assert "audit_newest" in shown and "Index Cond: (at <=" in shown, shown


def test_an_older_inbox_page_starts_the_index_scan_at_the_cursor():
    post = InboundPost(pk=42, posted_at=timezone.now() - timedelta(days=1))
    shown = plan(*InboxFilter({"before": inbox_cursor(post)}, queryset=inbox()).qs[:51].query.sql_with_params())
    assert "post_inbox_order_idx" in shown and "Index Cond: (posted_at <=" in shown, shown
