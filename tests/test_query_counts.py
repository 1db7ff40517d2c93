"""The query count of every list and detail page, pinned: the same with N rows as with 3N (no query per row),
and equal to the number in PINNED.

A page whose count changes on purpose (a new panel, a better selector) gets its new number in PINNED; a
count that grows with the rows is an N+1 to fix, not to pin. A new URL needs a row here (a page to pin, or
a form or action in NOT_PAGES), as in the access matrix.
"""

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record
from connectors.models import ApiCall, Connector, PhoneUser
from events.models import Event, InboundPost
from groups.models import Group, GroupMember, GroupSubscriber, GroupSync
from messaging.models import Attempt, Message, Schedule
from tests.security.world import DEAD_KAIZALA, all_routes, concrete, make_world

pytestmark = pytest.mark.django_db
N = 4

# URL name → queries for one view of the page (session, user and the two-step device included), whatever the rows.
PINNED = {
    "dashboard": 16,  # + inbound posts of the last hour, subscriptions needing attention, posts per hour (chart)
    "connectors:list": 6,
    "connectors:detail": 8,
    "connectors:phone_users": 7,
    "connectors:phone_user": 7,
    "connectors:phone_user_status": 6,
    "connectors:calls": 7,
    "connectors:call": 6,
    "groups:list": 11,
    "groups:menu": 6,
    "connectors:phone_user_menu": 6,
    "groups:detail": 17,  # + the group's listening (events)
    "groups:status": 8,
    "groups:sync_status": 7,
    "messaging:list": 7,  # the group and phone-user menus' options come when they are opened (groups:menu, ...)
    "messaging:detail": 8,
    "messaging:schedules": 7,
    "messaging:schedule": 8,
    "messaging:media": 6,
    "events:list": 6,
    "events:detail": 6,
    "events:conversation": 9,
    "events:conversation_items": 8,
    "events:inbox": 7,  # the group menu's options come from groups:menu when it is opened
    # the world's message is no action: the page says so (tests/actions pins the results of a real one)
    "actions:results": 6,
    "actions:live": 6,
    "accounts:users": 7,
    "audit:list": 7,
    "api:keys": 6,
    "api:deliveries": 7,
}
# Forms, actions and the sign-in pages: not lists or details (their writes are tested elsewhere).
NOT_PAGES = {
    "healthz", "readyz", "metrics", "login", "logout", "password_change", "password_change_done", "preferences",
    "password_set", "password_set_done", "two_step_verify", "two_step_enrol", "two_step_status",
    "accounts:reset_two_step", "audit:export",
    "accounts:invite", "accounts:role", "accounts:deactivate", "accounts:activate", "accounts:reset_password",
    "connectors:create", "connectors:create_in_sandbox", "connectors:edit", "connectors:activate",
    "connectors:deactivate", "connectors:onboard", "connectors:add_token", "connectors:submit_pin",
    "connectors:resend_pin", "connectors:retry", "connectors:reonboard", "connectors:remove",
    "groups:create", "groups:sync", "groups:refresh", "groups:retry", "groups:members_add", "groups:member_remove",
    "groups:members_remove",
    "groups:member_role", "groups:subgroup_create", "groups:subscribers_add", "groups:subscriber_remove",
    "groups:sender",
    "messaging:compose", "messaging:edit", "messaging:action", "messaging:schedule_action", "messaging:cancel_held",
    "events:receiver", "events:process_again", "events:listen", "events:stop", "events:reenable", "events:reply",
    "events:inbox_read",
    "actions:refresh", "actions:remind", "actions:reminder_schedule", "actions:reminder_stop",
    "messaging:bulk", "messaging:schedule_edit", "messaging:preview",
    # CSV exports: streamed, so a page's count does not apply; their chunked queries: tests/lists/test_exports.py
    "messaging:export", "connectors:calls_export", "groups:members_export", "actions:export",
    # The REST API (its own tests, tests/api) and its docs page, which reads nothing from the database.
    "api:schema", "api:docs", "api:key_create", "api:key_revoke", "api:connectors", "api:connector",
    "api:phone_users", "api:phone_user", "api:groups", "api:group", "api:group_members", "api:group_member",
    "api:messages", "api:message", "api:message_cancel", "api:message_retry", "api:schedules", "api:schedule",
    "api:schedule_pause", "api:schedule_resume", "api:schedule_end", "api:callback", "api:delivery_replay",
    "api:message_results", "api:posts", "api:responses",
    "api:not_found",
}
_serial = itertools.count(1)


def grow(world: dict, n: int) -> None:
    """n more rows of everything the pages list: connectors, phone users (some needing attention), groups
    (sub-groups of the world's group), members, subscribers, syncs, messages with attempts, schedules and
    API calls, each with the related rows its page shows; console users with a role; audit records."""
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
        get_user_model().objects.create_user(f"q-user-{k}").groups.add(AuthGroup.objects.get(name="Operator"))
        audit_record(actor=Actor(user=world["user"]), kind=Kind.GROUP_CHANGED, obj=world["group"],
                     summary=f"changed {k}")
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
        event = Event.objects.create(subscription=world["subscription"], event_id=f"q-event-{k}",
                                     event_type="Announcement", raw={"eventId": f"q-event-{k}"})
        InboundPost.objects.create(event=event, group=world["group"], text=f"Post {k}", posted_at=now,
                                   sender_phone="+919800011111", reference_id=f"ref-q-{k}",
                                   media=[{"url": "https://media.example.org/x.jpg", "name": "x.jpg"}])
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
