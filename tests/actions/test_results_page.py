"""The results page: counts against the group's members, a tally per choice question, who answered and who
has not, the responses table paged by cursor; its query count does not grow with the responses."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from actions import services
from actions.models import ActionResponse, ResponseChoice
from tests.actions.conftest import add_members, member_phone

pytestmark = pytest.mark.django_db


def seed(message, phones, choice_of):
    now = timezone.now()
    rows = ActionResponse.objects.bulk_create(
        ActionResponse(action_id=message.action_id, key=f"p:{p}", response_id=f"r-{p}", responder_phone=p,
                       responder_name=f"Name {p[-3:]}", answers=[message.card["choices"][choice_of(i)]],
                       responded_at=now, source="event", tallied=True)
        for i, p in enumerate(phones))
    ResponseChoice.objects.bulk_create(ResponseChoice(response=r, action_id=message.action_id, question=0,
                                                      option=choice_of(i)) for i, r in enumerate(rows))
    services.action_counts_rebuild(action_id=message.action_id)  # bulk-loaded: recounted


def test_the_page_shows_counts_rate_tallies_and_who_answered(poll, client_for):
    add_members(poll.group, [member_phone(n) for n in range(1, 11)])  # ten members
    seed(poll, [member_phone(n) for n in range(1, 5)] + ["+919999900001"], lambda i: 1 if i < 3 else 2)
    page = client_for(Role.VIEWER).get(f"/actions/{poll.pk}/").content.decode()
    assert 'data-testid="response-count">5<' in page
    assert 'data-testid="response-rate">40%<' in page  # 4 of the 10 members (the fifth is no member)
    assert "4 of 10 members" in page
    assert "Answered (4)" in page and "Not answered yet (6)" in page
    assert member_phone(10) in page.split("Not answered yet")[1]
    assert '"counts": [0, 3, 2]' in page  # the chart's numbers (json_script)
    assert "Lunch on Friday?" in page and "Export CSV" in page
    assert 'hx-headers=\'{"X-Console-Poll": "1"}\'' in page


def test_the_query_count_does_not_grow_with_the_responses(poll, client_for):
    client = client_for(Role.VIEWER)
    add_members(poll.group, [member_phone(n) for n in range(1, 6)])
    seed(poll, [member_phone(n) for n in range(1, 4)], lambda i: i % 3)
    counts = []
    for more in (0, 300):
        if more:
            add_members(poll.group, [member_phone(n) for n in range(100, 100 + more)])
            seed(poll, [member_phone(n) for n in range(100, 100 + more)], lambda i: i % 3)
        for url in (f"/actions/{poll.pk}/", f"/actions/{poll.pk}/live/"):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured))
    assert counts[:2] == counts[2:], counts
    assert counts == [15, 14, 15, 14], counts  # pinned: a change here is meant, or an N+1


def test_the_responses_table_pages_by_cursor(poll, client_for):
    seed(poll, [member_phone(n) for n in range(1, 61)], lambda i: 0)
    client = client_for(Role.VIEWER)
    first = client.get(f"/actions/{poll.pk}/").content.decode()
    table = first.split('data-testid="responses"')[1].split("</table>")[0]
    assert table.count("<tr") == 1 + 25  # the header and a page of 25
    assert 'data-testid="page-older"' in first


def test_export_streams_one_row_per_response(poll, client_for):
    seed(poll, [member_phone(n) for n in range(1, 4)], lambda i: i)
    response = client_for(Role.VIEWER).get(f"/actions/{poll.pk}/responses.csv")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("Responded at,Responder phone,Responder name,Response id,Source,"
                                                 "Lunch on Friday?,Extra answers")
    assert sorted(line.split(",")[5] for line in lines[1:]) == ["Dosa", "Pizza", "Salad"]


def test_a_closed_action_stops_polling(poll, client_for):
    from datetime import timedelta

    from messaging.models import Message

    client = client_for(Role.VIEWER)
    assert "hx-trigger" in client.get(f"/actions/{poll.pk}/live/").content.decode()
    Message.objects.filter(pk=poll.pk).update(sent_at=timezone.now() - timedelta(hours=49))  # expiry 48 h
    page = client.get(f"/actions/{poll.pk}/live/").content.decode()
    assert "hx-trigger" not in page and "Closed at" in page
