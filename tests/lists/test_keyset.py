"""Keyset pages (kaizala_console/keyset.py): every row once walking older and back newer, ties on the time
included; a bad cursor or date is ignored with a note; the last page costs the queries the first does."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import ApiCall, Connector, PhoneUser
from groups.models import GroupMember, GroupSubscriber
from kaizala_console.keyset import decode_cursor, encode_cursor
from messaging.models import Message

pytestmark = pytest.mark.django_db


def ids_on(response, testid="message-row"):
    return [int(pk) for pk in re.findall(rf'data-testid="{testid}"[^>]*data-pk="(\d+)"', response.content.decode())]


def link(response, testid):
    found = re.search(rf'href="([^"]+)"[^>]*data-testid="{testid}"', response.content.decode())
    return unescape(found.group(1)) if found else None


def walk(client, url, testid, row_testid):
    """The pages from `url` following the `testid` link to its end: the ids of each."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(ids_on(response, row_testid))
        next_link = link(response, testid)
        url = f"{url.split('?')[0]}{next_link}" if next_link else None
    return pages


def test_message_list_walks_every_row_once_older_and_back_newer_with_ties(client_for, make_messages):
    # 60 rows sharing 12 due times: the order needs the id as well as the time, on both sides of a page.
    made = make_messages(60, step=timedelta(0)) + make_messages(60, step=timedelta(minutes=5))
    client = client_for(Role.VIEWER)
    base = reverse("messaging:list")
    older = walk(client, base, "page-older", "message-row")
    expected = [m.pk for m in sorted(made, key=lambda m: (m.due_at, m.pk), reverse=True)]
    assert [pk for page in older for pk in page] == expected
    assert [len(page) for page in older] == [50, 50, 20]
    # Back from the last page: the same pages, newest last.
    last_url = base + link(client.get(base + link(client.get(base), "page-older")), "page-older")
    newer = walk(client, last_url, "page-newer", "message-row")
    assert newer == older[::-1]


def test_message_list_filters_are_kept_in_the_page_links(client_for, make_messages):
    make_messages(70, status=Message.Status.FAILED)
    make_messages(70)
    client = client_for(Role.VIEWER)
    pages = walk(client, reverse("messaging:list") + "?status=failed", "page-older", "message-row")
    assert sum(len(page) for page in pages) == 70
    assert set(Message.objects.filter(pk__in=[pk for p in pages for pk in p]).values_list("status", flat=True)) == {
        "failed"}


@pytest.mark.parametrize("cursor", ["garbage!", "e30", encode_cursor(["not a time", 1]), encode_cursor([1]),
                                    encode_cursor(["2026-01-01T00:00:00", 5]), encode_cursor([True, 1]),
                                    "x" * 5000, encode_cursor(["2026-01-01T00:00:00+00:00", "abc"])])
@pytest.mark.parametrize("param", ["after", "before"])
def test_a_bad_cursor_is_ignored_with_a_note(client_for, make_messages, cursor, param):
    make_messages(3)
    response = client_for(Role.VIEWER).get(reverse("messaging:list"), {param: cursor})
    assert response.status_code == 200
    assert "The page link was not valid and was ignored" in response.content.decode()
    assert len(ids_on(response)) == 3


def test_a_cursor_decodes_only_to_its_fields_types():
    due = Message._meta.get_field("due_at")
    pk = Message._meta.get_field("id")
    now = timezone.now()
    assert decode_cursor(encode_cursor([now, 7]), [due, pk]) == [now, 7]
    assert decode_cursor(encode_cursor([now, 7]), [pk, due]) is None


def test_jump_to_date_starts_at_that_day(client_for, make_messages, settings):
    start = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=10)
    made = make_messages(10, start=start, step=timedelta(days=1))
    client = client_for(Role.VIEWER)
    day = timezone.localtime(made[4].due_at).date()
    response = client.get(reverse("messaging:list"), {"date": day.isoformat()})
    assert ids_on(response) == [m.pk for m in made[4::-1]]
    assert link(response, "page-newer") is not None  # the days after it are a click away
    bad = client.get(reverse("messaging:list"), {"date": "2026-13-45"})
    assert bad.status_code == 200 and "is not valid (use YYYY-MM-DD)" in bad.content.decode()
    assert len(ids_on(bad)) == 10


def test_last_page_costs_the_queries_of_the_first(client_for, make_messages):
    make_messages(130)
    client = client_for(Role.VIEWER)
    base = reverse("messaging:list")
    counts = []
    url = base
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        counts.append(len(queries))
        next_link = link(response, "page-older")
        url = base + next_link if next_link else None
    assert len(counts) == 3 and len(set(counts)) == 1
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def test_call_log_is_keyset_paged_with_a_date_jump(client_for):
    now = timezone.now()
    ApiCall.objects.bulk_create(ApiCall(method="GET", url=f"https://x/{i}", status=200,
                                        created_at=now - timedelta(hours=i)) for i in range(120))
    client = client_for(Role.VIEWER)
    pages = walk(client, reverse("connectors:calls"), "page-older", "call-row")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert sorted(pk for p in pages for pk in p) == sorted(ApiCall.objects.values_list("pk", flat=True))


def test_phone_users_page_in_connector_then_number_order(client_for):
    connectors = [Connector.objects.create(name=name, application_id=name, application_secret="s")
                  for name in ("b", "a")]
    PhoneUser.objects.bulk_create(PhoneUser(connector=c, mobile_number=f"+9198{i:08d}")
                                  for c in connectors for i in range(30))
    pages = walk(client_for(Role.VIEWER), reverse("connectors:phone_users"), "page-older", "phone-user-row")
    expected = list(PhoneUser.objects.order_by("connector__name", "mobile_number", "id").values_list("pk", flat=True))
    assert [pk for p in pages for pk in p] == expected and len(pages) == 2


def test_group_members_and_subscribers_page_apart(client_for, group):
    group.group_type = group.Type.CONNECT_GROUP
    group.save()
    GroupMember.objects.bulk_create(GroupMember(group=group, mobile_number=f"+9198{i:08d}") for i in range(150))
    GroupSubscriber.objects.bulk_create(GroupSubscriber(group=group, mobile_number=f"+9197{i:08d}")
                                        for i in range(60))
    client = client_for(Role.VIEWER)
    url = reverse("groups:detail", args=[group.pk])
    first = client.get(url)
    assert len(re.findall('data-testid="member-row"', first.content.decode())) == 100
    assert ">150<" in first.content.decode() and ">60<" in first.content.decode()  # the counts stay whole
    members_next = link(first, "page-older")
    assert "members_after=" in members_next and "subscribers_" not in members_next
    second = client.get(url + members_next).content.decode()
    assert len(re.findall('data-testid="member-row"', second)) == 50
    assert len(re.findall('data-testid="subscriber-row"', second)) == 50  # the subscribers' page did not move
