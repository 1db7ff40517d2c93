"""Removing many members at once (groups.membership.members_remove): a confirmation saying how many, a
result per row, and queries that do not grow with the rows; against the sandbox with a real worker."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from audit.actor import SYSTEM
from groups import membership
from groups.models import GroupMember
from tests.groups.conftest import kaizala_group
from tests.groups.test_worker import create, numbers, settled

M = GroupMember.State


def _post(client, group, ids, **data):
    return client.post(reverse("groups:members_remove", args=[group.pk]),
                       {"ids": ",".join(map(str, ids)), **data})


@pytest.mark.django_db
def test_confirmation_counts_and_a_thousand_rows_cost_the_queries_of_ten(client_for, group):
    sender = GroupMember.objects.create(group=group, mobile_number=group.phone_user.mobile_number)
    GroupMember.objects.bulk_create(GroupMember(group=group, mobile_number=f"+9198{i:08d}", kaizala_member_id=f"k{i}")
                                    for i in range(1010))
    never = GroupMember.objects.create(group=group, mobile_number="+919700000000", state=M.FAILED)
    busy = GroupMember.objects.create(group=group, mobile_number="+919700000001", state=M.PENDING)
    client = client_for(Role.OPERATOR)
    page = _post(client, group, [sender.pk, never.pk, busy.pk, 999999]).content.decode()
    assert "Remove 4 members?" in page and "Remove 1 member of the 4 chosen" in page
    assert "1 member never reached Kaizala" in page and "2 members left alone" in page
    assert "1 member no longer in this group." in page
    assert GroupMember.objects.filter(group=group).count() == 1013  # nothing changed yet

    rows = list(GroupMember.objects.filter(state=M.ADDED).exclude(pk=sender.pk).values_list("pk", flat=True))
    counts = []
    for chosen in (rows[:10], rows[10:]):
        with CaptureQueriesContext(connection) as queries:
            response = _post(client, group, chosen, confirmed="1")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert GroupMember.objects.filter(state=M.REMOVING).count() == 1010


@pytest.mark.django_db
def test_bad_choices_are_refused_and_change_nothing(client_for, group):
    member = GroupMember.objects.create(group=group, mobile_number="+919700000000")
    client = client_for(Role.OPERATOR)
    response = _post(client, group, ["x"], confirmed="1")
    assert response.status_code == 302
    assert "The chosen members were not understood" in client.get(response.url).content.decode()
    assert GroupMember.objects.get(pk=member.pk).state == M.ADDED


@pytest.mark.integration
def test_bulk_removal_reaches_kaizala_and_says_what_happened_to_each(phone_user, sandbox, celery_worker):
    group = create(phone_user, members=numbers(3))
    chosen = list(group.members.order_by("mobile_number").values_list("pk", "mobile_number"))
    with transaction.atomic():
        outcomes = membership.members_remove(actor=SYSTEM, group=group, member_ids=[pk for pk, _ in chosen])
    said = {outcome.mobile_number: (outcome.done, outcome.detail) for outcome in outcomes}
    assert said[phone_user.mobile_number][0] is False and "sends through this number" in said[
        phone_user.mobile_number][1]
    assert all(said[f"+91{9700000000 + i}"][0] for i in range(3))
    group = settled(group)
    at_kaizala = kaizala_group(sandbox, group.kaizala_id)["members"]
    assert not any(f"+91{9700000000 + i}" in at_kaizala for i in range(3))
    assert list(group.members.values_list("mobile_number", flat=True)) == [phone_user.mobile_number]


@pytest.mark.django_db
def test_the_result_page_lists_each_row(client_for, group):
    never = GroupMember.objects.create(group=group, mobile_number="+919700000000", state=M.FAILED)
    page = _post(client_for(Role.OPERATOR), group, [never.pk, 424242], confirmed="1").content.decode()
    assert re.findall(r'data-pk="(\d+)" data-done="(\d)"', page) == [(str(never.pk), "1"), ("424242", "0")]
    assert "No such member of this group." in page and not GroupMember.objects.filter(pk=never.pk).exists()
