"""CSV exports of messages, a group's members and the call log: the list's filters applied, streamed in
keyset chunks (one query per chunk, not the table in memory), formula-like cells made safe."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import ApiCall
from groups.models import GroupMember
from kaizala_console import exports
from messaging.models import Message

pytestmark = pytest.mark.django_db


def read(response) -> list[dict]:
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_message_export_applies_the_filters_and_search(client_for, make_messages):
    make_messages(3, status=Message.Status.SENT)
    failed = make_messages(2, status=Message.Status.FAILED, attempt_count=3)
    Message.objects.filter(pk=failed[0].pk).update(text="needle")
    client = client_for(Role.VIEWER)
    rows = read(client.get(reverse("messaging:export"), {"status": "failed"}))
    assert [int(r["id"]) for r in rows] == [failed[1].pk, failed[0].pk]  # the list's order: newest first
    assert rows[0]["status"] == "failed" and rows[0]["attempts"] == "3" and rows[0]["group"] == "Ops"
    assert rows[0]["due"] == timezone.localtime(failed[1].due_at).isoformat(timespec="seconds")
    assert [r["text"] for r in read(client.get(reverse("messaging:export"), {"q": "NEEDLE"}))] == ["needle"]


def test_a_bad_filter_sends_back_to_the_list_that_says_why(client_for, make_messages):
    response = client_for(Role.VIEWER).get(reverse("messaging:export"), {"status": "nope"})
    assert response.status_code == 302 and response.url == reverse("messaging:list") + "?status=nope"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_cells_are_made_text(client_for, make_messages, text):
    message = make_messages(1)[0]
    Message.objects.filter(pk=message.pk).update(text=text)
    [row] = read(client_for(Role.VIEWER).get(reverse("messaging:export")))
    assert row["text"] == "'" + text


def test_ordinary_cells_are_kept_as_they_are():
    zone = timezone.get_current_timezone()
    assert [exports.safe_cell(v, zone) for v in ("a=b", "", None, -5, True, "Ünïcode")] == [
        "a=b", "", "", -5, "yes", "Ünïcode"]


def test_the_export_streams_in_keyset_chunks(client_for, make_messages, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 10)
    make_messages(25)
    client = client_for(Role.VIEWER)
    with CaptureQueriesContext(connection) as before_body:
        response = client.get(reverse("messaging:export"))
    assert response.streaming and not any("messaging_message" in q["sql"] for q in before_body.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        body = list(response.streaming_content)
    # No query before the body is read; then one query per chunk of 10 rows (10, 10, 5), each starting after
    # the last row of the one before, none with OFFSET.
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 3 and all("OFFSET" not in sql.upper() for sql in selects)
    assert "LIMIT 10" in selects[-1] and len(body) == 4  # the header, then one piece per chunk
    assert sum(piece.count(b"\r\n") for piece in body) == 26


def test_member_and_call_log_exports(client_for, group):
    GroupMember.objects.create(group=group, mobile_number="+919700000001", name="=cmd|' /C calc'!A0")
    GroupMember.objects.create(group=group, mobile_number="+919700000000", name="Asha", role="Admin")
    now = timezone.now()
    ApiCall.objects.create(method="GET", url="https://k/v1/groups", status=200, created_at=now)
    ApiCall.objects.create(method="POST", url="https://k/v1/groups/g/messages", status=503,
                           created_at=now - timedelta(seconds=5))
    client = client_for(Role.VIEWER)
    members = read(client.get(reverse("groups:members_export", args=[group.pk])))
    assert [(m["mobile number"], m["name"], m["role"]) for m in members] == [
        ("'+919700000000", "Asha", "Admin"), ("'+919700000001", "'=cmd|' /C calc'!A0", "Member")]
    calls = read(client.get(reverse("connectors:calls_export"), {"status": "5xx"}))
    assert [(c["method"], c["status"]) for c in calls] == [("POST", "503")]
    assert client.get(reverse("groups:members_export", args=[999999])).status_code == 404
