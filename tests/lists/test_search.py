"""`?q=` search on the message, group, phone-user and call-log lists (kaizala_console.filters.SearchFilter):
case-insensitive, `%` and `_` taken literally, kept across pages, served by a trigram index on PostgreSQL."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import ApiCall, Connector, PhoneUser
from groups.models import Group
from messaging.filters import MessageFilter
from messaging.models import Message
from messaging.selectors import message_list
from tests.lists.test_keyset import ids_on, link

pytestmark = pytest.mark.django_db


def test_message_search_finds_text_case_insensitively_and_literally(client_for, make_messages):
    made = make_messages(5)
    Message.objects.filter(pk=made[1].pk).update(text="Flood WARNING for the river 100%")
    Message.objects.filter(pk=made[3].pk).update(text="warning_level raised")
    client = client_for(Role.VIEWER)
    url = reverse("messaging:list")
    assert ids_on(client.get(url, {"q": "warning"})) == [made[3].pk, made[1].pk]
    assert ids_on(client.get(url, {"q": "100%"})) == [made[1].pk]
    assert ids_on(client.get(url, {"q": "g_l"})) == [made[3].pk]  # "_" is not a wildcard
    assert ids_on(client.get(url, {"q": "   "})) == [m.pk for m in made[::-1]]
    page = client.get(url, {"q": "warning"}).content.decode()
    assert 'name="q" value="warning"' in page


def test_the_search_is_kept_when_paging(client_for, make_messages):
    hits = make_messages(70)
    Message.objects.filter(pk__in=[m.pk for m in hits[:55]]).update(text="needle in text")
    client = client_for(Role.VIEWER)
    first = client.get(reverse("messaging:list"), {"q": "needle"})
    older = link(first, "page-older")
    assert "q=needle" in older
    assert len(ids_on(first)) + len(ids_on(client.get(reverse("messaging:list") + older))) == 55


def test_an_overlong_search_is_ignored_with_a_note(client_for, make_messages):
    make_messages(2)
    response = client_for(Role.VIEWER).get(reverse("messaging:list"), {"q": "x" * 201})
    assert response.status_code == 200
    assert "is not valid and was ignored" in response.content.decode() and len(ids_on(response)) == 2


def test_group_phone_user_and_call_log_search(client_for, group):
    Group.objects.create(phone_user=group.phone_user, kaizala_id="g@2", name="Flood relief", state="active")
    connector = Connector.objects.create(name="d", application_id="d", application_secret="s")
    wanted = PhoneUser.objects.create(connector=connector, mobile_number="+919855500011")
    now = timezone.now()
    ApiCall.objects.create(method="GET", url="https://kaizala/v1/groups/ABC@x/members", status=200, created_at=now)
    call = ApiCall.objects.create(method="POST", url="https://kaizala/v1/groups/xyz@x/messages", status=500,
                                  created_at=now - timedelta(minutes=1))
    client = client_for(Role.VIEWER)

    def row_ids(url, q, testid):
        return [int(pk) for pk in re.findall(rf'data-testid="{testid}"[^>]*data-pk="(\d+)"',
                                             client.get(url, {"q": q}).content.decode())]

    assert [g.name for g in client.get(reverse("groups:list"), {"q": "FLOOD"}).context["page"]] == ["Flood relief"]
    assert row_ids(reverse("connectors:phone_users"), "55500", "phone-user-row") == [wanted.pk]
    assert row_ids(reverse("connectors:calls"), "xyz@x/MESSAGES", "call-row") == [call.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_the_message_search_can_use_the_trigram_index():
    from django.db import connection as conn

    query = MessageFilter({"q": "rare words"}, queryset=message_list()).qs.order_by("-due_at", "-id")[:51]
    sql, params = query.query.sql_with_params()
    with conn.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: force the choice the planner makes at scale
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "msg_text_trgm" in plan
