"""The query count of every list and detail page, pinned: the same with N rows as with 3N (no query per row),
and equal to the number in PINNED.

A page whose count changes on purpose (a new panel, a better selector) gets its new number in PINNED; a
count that grows with the rows is an N+1 to fix, not to pin. A new URL needs a row here (a page to pin, or
a form or action in NOT_PAGES), as in the access matrix.
"""

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from connectors.models import ApiCall, Connector, PhoneUser
from groups.models import Group, GroupMember, GroupSubscriber, GroupSync
from messaging.models import Attempt, Message, Schedule
from tests.security.world import DEAD_KAIZALA, all_routes, concrete, make_world

pytestmark = pytest.mark.django_db
N = 4

# URL name → queries for one view of the page (session and user included), whatever the rows.
PINNED = {
    "dashboard": 11,
    "connectors:list": 5,
    "connectors:detail": 6,
    "connectors:phone_users": 7,
    "connectors:phone_user": 6,
    "connectors:phone_user_status": 5,
    "connectors:calls": 7,
    "connectors:call": 5,
    "groups:list": 10,
    "groups:detail": 13,
    "groups:status": 7,
    "groups:sync_status": 6,
    "messaging:list": 8,
    "messaging:detail": 6,
    "messaging:schedules": 7,
    "messaging:schedule": 7,
    "api:keys": 5,
    "api:deliveries": 6,
}
# Forms, actions and the sign-in pages: not lists or details (their writes are tested elsewhere).
NOT_PAGES = {
    "login", "logout", "password_change", "password_change_done", "preferences",
    "connectors:create", "connectors:create_in_sandbox", "connectors:edit", "connectors:activate",
    "connectors:deactivate", "connectors:onboard", "connectors:add_token", "connectors:submit_pin",
    "connectors:resend_pin", "connectors:retry", "connectors:reonboard", "connectors:remove",
    "groups:create", "groups:sync", "groups:refresh", "groups:retry", "groups:members_add", "groups:member_remove",
    "groups:member_role", "groups:subgroup_create", "groups:subscribers_add", "groups:subscriber_remove",
    "groups:sender",
    "messaging:compose", "messaging:edit", "messaging:action", "messaging:schedule_action",
    # The REST API (its own tests, tests/api) and its docs page, which reads nothing from the database.
    "api:schema", "api:docs", "api:key_create", "api:key_revoke", "api:connectors", "api:connector",
    "api:phone_users", "api:phone_user", "api:groups", "api:group", "api:group_members", "api:group_member",
    "api:messages", "api:message", "api:message_cancel", "api:message_retry", "api:schedules", "api:schedule",
    "api:schedule_pause", "api:schedule_resume", "api:schedule_end", "api:callback", "api:delivery_replay",
    "api:not_found",
}
_serial = itertools.count(1)


def grow(world: dict, n: int) -> None:
    """n more rows of everything the pages list: connectors, phone users (some needing attention), groups
    (sub-groups of the world's group), members, subscribers, syncs, messages with attempts, schedules and
    API calls, each with the related rows its page shows."""
    now = timezone.now()
    for _ in range(n):
        k = next(_serial)
        connector = Connector.objects.create(name=f"Connector {k}", application_id=f"app-q-{k}",
                                             application_secret="s", auth_base_url=DEAD_KAIZALA)
        phone_users = [
            PhoneUser.objects.create(
                connector=owner, mobile_number=f"+9197{k:08d}", token_kind="user", token_group_id="",
                state=PhoneUser.State.REAUTH_REQUIRED if k % 2 else PhoneUser.State.ACTIVE,
                refresh_token="rt", access_token="at", access_token_expires_at=now + timedelta(hours=1),
                refresh_token_expires_at=now + timedelta(days=3), endpoint_url=f"{DEAD_KAIZALA}/kms/")
            for owner in (connector, world["connector"])
        ]
        GroupSync.objects.create(phone_user=phone_users[0])
        group = Group.objects.create(phone_user=phone_users[0], kaizala_id=f"g@q{k}", name=f"Group {k}",
                                     parent=world["group"], state=Group.State.ACTIVE)
        GroupMember.objects.create(group=world["group"], mobile_number=f"+9196{k:08d}", name=f"Member {k}")
        GroupSubscriber.objects.create(group=world["group"], mobile_number=f"+9195{k:08d}", name=f"Sub {k}")
        schedule = Schedule.objects.create(text=f"Daily {k}", frequency="daily", local_time="09:00",
                                           time_zone="UTC", start_date=now.date(), next_fire_at=now + timedelta(days=1))
        schedule.groups.set([world["group"], group])
        world["schedule"].groups.add(group)
        for target, status in ((group, Message.Status.SCHEDULED), (world["group"], Message.Status.FAILED)):
            message = Message.objects.create(
                group=target, text=f"Text {k}", broadcast_id=f"00000000-0000-0000-0000-{k:012d}", status=status,
                due_at=now + timedelta(minutes=k), scheduled_for=now + timedelta(minutes=k), status_changed_at=now,
                schedule=world["schedule"], created_by=world["user"])
            Attempt.objects.create(message=message, started_at=now, outcome=Attempt.Outcome.FAILED)
        Attempt.objects.create(message=world["message"], started_at=now, outcome=Attempt.Outcome.RETRY)
        for phone_user in (world["phone_user"], phone_users[0]):
            ApiCall.objects.create(connector=phone_user.connector, phone_user=phone_user, method="POST",
                                   url=f"{DEAD_KAIZALA}/kms/v1/groups", status=500, duration_ms=3)


@pytest.fixture
def world(client_for, django_user_model):
    client = client_for(Role.ADMIN)
    made = make_world()
    Group.objects.filter(pk=made["group"].pk).update(group_type=Group.Type.CONNECT_GROUP)  # subscribers shown
    return {**made, "client": client, "user": django_user_model.objects.get(username="user-admin")}


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return [q["sql"] for q in captured.captured_queries]


def test_every_url_is_pinned_or_named_as_not_a_page():
    names = {name for name, _ in all_routes() if not name.startswith(("admin:", "<unnamed"))}
    assert names - PINNED.keys() - NOT_PAGES == set(), "a new page: pin its query count in PINNED"
    assert (PINNED.keys() | NOT_PAGES) - names == set(), "rows for URLs that no longer exist"


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_query_count_does_not_grow_with_the_rows(name, world, django_assert_num_queries):
    route = dict(all_routes())[name]
    url = concrete(name, route, world)
    client = world["client"]
    grow(world, N)
    client.get(url)  # the first view of a page may fill process-wide caches
    at_n = _queries(client, url)
    grow(world, 2 * N)
    at_3n = _queries(client, url)
    assert len(at_3n) == len(at_n), (
        f"{name}: {len(at_n)} queries with {N} rows, {len(at_3n)} with {3 * N}: a query per row\n"
        + "\n".join(at_3n))
    with django_assert_num_queries(PINNED[name], info=f"{name}: re-pin PINNED if the change is meant"):
        client.get(url)
