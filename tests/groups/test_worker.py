"""Groups against the sandbox with a real Celery worker on the real Redis broker: every Kaizala call
runs in the worker, and each ends in the state (and message) a person sees."""

import pytest
from django.db import transaction

from audit.actor import SYSTEM
from groups import membership, services
from groups.member_input import Entry
from groups.models import Group, GroupMember, GroupSubscriber, GroupSync
from tests.fixtures.celery_worker import wait_for
from tests.fixtures.console import MOBILE
from tests.groups.conftest import kaizala_group

pytestmark = pytest.mark.integration


def numbers(count: int, start: int = 9700000000) -> list[Entry]:
    return [Entry(f"+91{start + i}") for i in range(count)]


def create(phone_user, members=(), **kwargs) -> Group:
    fields = {"name": "Field staff", "welcome_message": "Welcome!"} | kwargs
    with transaction.atomic():
        group = services.group_create(actor=SYSTEM, phone_user=phone_user, members=members, **fields)
    return settled(group)


def settled(group: Group, timeout: float = 30) -> Group:
    """The group once no task works on it any more."""
    from groups.selectors import group_is_busy

    wait_for(lambda: not group_is_busy(Group.objects.get(pk=group.pk)), timeout, message=f"group {group.pk} to settle")
    return Group.objects.get(pk=group.pk)


def test_create_without_members(phone_user, sandbox, celery_worker):
    group = create(phone_user)
    assert group.state == Group.State.ACTIVE, group.last_error
    assert kaizala_group(sandbox, group.kaizala_id)["members"] == {MOBILE: "Admin"}
    member = group.members.get()
    assert (member.mobile_number, member.role, member.state) == (MOBILE, "Admin", "added")
    assert member.kaizala_member_id and group.member_count == 1


def test_create_with_members(phone_user, sandbox, celery_worker):
    group = create(phone_user, members=numbers(3))
    assert group.state == Group.State.ACTIVE, group.last_error
    assert set(kaizala_group(sandbox, group.kaizala_id)["members"]) == {MOBILE, *(e.mobile_number for e in numbers(3))}
    assert group.member_count == 4
    assert set(group.members.values_list("state", flat=True)) == {"added"}


def test_over_100_members_are_created_with_100_then_added_in_batches(phone_user, sandbox, celery_worker):
    group = create(phone_user, members=numbers(250))
    assert group.state == Group.State.ACTIVE, group.last_error
    assert len(kaizala_group(sandbox, group.kaizala_id)["members"]) == 251
    assert group.member_count == 251 and group.members.filter(state="added").count() == 251
    assert [c["method"] for c in sandbox.calls(path="/v1/groups*") if c["route"] in ("createGroup", "addMembers")] == [
        "POST", "PUT", "PUT"]


def test_sync_twice_changes_nothing_and_marks_groups_gone_at_kaizala(phone_user, sandbox, celery_worker):
    parent = sandbox._control("POST", "groups", json={"name": "Made in the app", "admin": MOBILE,
                                                       "members": ["+919700000001"]})
    sandbox._control("POST", "groups", json={"name": "Its sub-group", "admin": MOBILE,
                                            "parentGroupId": parent["groupId"]})
    sandbox._control("POST", "groups", json={"name": "Not mine", "admin": "+919700000009"})

    def sync():
        with transaction.atomic():
            run = services.groups_sync_request(actor=SYSTEM, phone_user=phone_user)
        wait_for(lambda: GroupSync.objects.get(pk=run.pk).state != "running", 30, message="the sync")
        return GroupSync.objects.get(pk=run.pk)

    def snapshot():
        return sorted(Group.objects.values_list("pk", "kaizala_id", "name", "parent__name", "member_count",
                                                "sub_group_count", "state", "missing_since"))

    first = sync()
    assert (first.state, first.seen_count, first.created_count, first.missing_count) == ("done", 2, 2, 0)
    before = snapshot()
    assert {(name, parent_name) for _, _, name, parent_name, *_ in before} == {
        ("Made in the app", None), ("Its sub-group", "Made in the app")}
    assert Group.objects.get(name="Made in the app").member_count == 2
    second = sync()
    assert (second.state, second.created_count) == ("done", 0)
    assert snapshot() == before

    gone = Group.objects.create(phone_user=phone_user, kaizala_id="deleted@1", name="Deleted at Kaizala",
                                state=Group.State.ACTIVE)
    assert sync().missing_count == 1
    gone.refresh_from_db()
    assert gone.missing_since is not None  # marked, not deleted


def test_add_remove_and_promote_members(phone_user, sandbox, celery_worker):
    group = create(phone_user)
    with transaction.atomic():
        membership.members_add(actor=SYSTEM, group=group, entries=numbers(2))
    settled(group)
    assert set(group.members.values_list("mobile_number", "state")) == {
        (MOBILE, "added"), ("+919700000000", "added"), ("+919700000001", "added")}

    member = group.members.get(mobile_number="+919700000000")
    with transaction.atomic():
        membership.member_set_role(actor=SYSTEM, member=member, role="Admin")
    settled(group)
    assert kaizala_group(sandbox, group.kaizala_id)["members"]["+919700000000"] == "Admin"
    assert group.members.get(pk=member.pk).role == "Admin"

    with transaction.atomic():
        membership.member_remove(actor=SYSTEM, member=group.members.get(mobile_number="+919700000001"))
    group = settled(group)
    assert "+919700000001" not in kaizala_group(sandbox, group.kaizala_id)["members"]
    assert not group.members.filter(mobile_number="+919700000001").exists() and group.member_count == 2


def test_a_refused_member_change_keeps_the_row_and_says_why(phone_user, sandbox, celery_worker):
    group = create(phone_user, members=numbers(1))
    sandbox.inject_fault(method="DELETE", path="/v1/groups/*/members/*", status=403)
    with transaction.atomic():
        membership.member_remove(actor=SYSTEM, member=group.members.get(mobile_number="+919700000000"))
    settled(group)
    member = group.members.get(mobile_number="+919700000000")
    assert member.state == "added" and member.last_error.startswith("Not removed: Kaizala said")


def test_sub_groups(phone_user, sandbox, celery_worker):
    parent = create(phone_user)
    sub = create(phone_user, members=numbers(1), name="North team", parent=parent)
    assert sub.state == Group.State.ACTIVE, sub.last_error
    assert kaizala_group(sandbox, sub.kaizala_id)["parentGroupId"] == parent.kaizala_id
    assert list(parent.sub_groups.values_list("name", flat=True)) == ["North team"]


def test_subscribers_of_a_public_group(tenant_admin, sandbox, celery_worker):
    hub = create(tenant_admin, group_type=Group.Type.CONNECT_GROUP, name="Citizens")
    assert hub.state == Group.State.ACTIVE, hub.last_error
    with transaction.atomic():
        membership.subscribers_add(actor=SYSTEM, group=hub, entries=numbers(60, start=9600000000))
    settled(hub)
    assert len(kaizala_group(sandbox, hub.kaizala_id)["subscribers"]) == 60
    assert hub.subscribers.filter(state="added").exclude(kaizala_subscriber_id="").count() == 60

    with transaction.atomic():
        membership.subscriber_remove(actor=SYSTEM, subscriber=hub.subscribers.get(mobile_number="+919600000000"))
    settled(hub)
    assert "+919600000000" not in kaizala_group(sandbox, hub.kaizala_id)["subscribers"]
    assert hub.subscribers.count() == 59

    # Someone subscribes outside the console: a refresh from Kaizala lists them.
    reply = sandbox.http.put(f"{tenant_admin.endpoint_url.rstrip('/')}/v1/groups/{hub.kaizala_id}/subscribers/add",
                             headers={"accessToken": tenant_admin.access_token},
                             json={"subscribers": ["+919600000099"]}, timeout=10)
    assert reply.status_code == 200, reply.text
    with transaction.atomic():
        services.group_refresh_request(actor=SYSTEM, group=hub)
    settled(hub)
    assert GroupSubscriber.objects.filter(group=hub, state="added").count() == 60
    assert hub.subscribers.filter(mobile_number="+919600000099").exists()


# --- each Kaizala error ends in the right state, with a message a person understands ---------------


def test_a_401_refreshes_the_token_and_the_group_is_created(phone_user, sandbox, celery_worker):
    sandbox.inject_fault(method="POST", path="/v1/groups", status=401, count=1)
    group = create(phone_user)
    assert group.state == Group.State.ACTIVE, group.last_error
    assert len(sandbox.calls(path="/v1/accessToken")) == 2  # the fixture's, and the refresh
    assert len([g for g in sandbox.groups() if g["groupName"] == "Field staff"]) == 1


def test_a_rejected_refresh_token_fails_the_group_and_says_to_onboard_again(phone_user, sandbox, celery_worker):
    sandbox.revoke_token(phone_user.refresh_token)
    group = create(phone_user)
    assert group.state == Group.State.FAILED
    assert "no longer accepts the token of phone user +919812345678" in group.last_error
    assert "onboard it again" in group.last_error


def test_a_429_waits_for_retry_after_then_creates(phone_user, sandbox, celery_worker):
    sandbox.inject_fault(method="POST", path="/v1/groups", status=429, retryAfter=1, count=1)
    group = create(phone_user)
    assert group.state == Group.State.ACTIVE, group.last_error
    statuses = [c["status"] for c in sandbox.calls(path="/v1/groups") if c["method"] == "POST"]
    assert statuses == [429, 200]


def test_a_500_is_retried_then_creates(phone_user, sandbox, celery_worker):
    sandbox.inject_fault(method="POST", path="/v1/groups", status=500, count=1)
    group = create(phone_user)
    assert group.state == Group.State.ACTIVE, group.last_error
    assert len([g for g in sandbox.groups() if g["groupName"] == "Field staff"]) == 1


def test_a_validation_error_fails_the_group_with_kaizalas_reason(phone_user, sandbox, celery_worker):
    group = create(phone_user, welcome_message="")
    assert group.state == Group.State.FAILED
    assert group.last_error == "Kaizala said: 'welcomeMessage' is required and must be a non-empty string"
    assert not group.kaizala_id


def test_a_member_batch_kaizala_refuses_is_marked_failed_and_the_group_still_becomes_active(
    phone_user, sandbox, celery_worker
):
    sandbox.inject_fault(method="PUT", path="/v1/groups/*/members", status=400, count=1)
    group = create(phone_user, members=numbers(101))
    assert group.state == Group.State.ACTIVE, group.last_error
    failed = group.members.get(state=GroupMember.State.FAILED)
    assert failed.mobile_number == "+919700000100" and failed.last_error.startswith("Kaizala said")


def test_a_group_stays_busy_until_its_subscriber_list_is_read_back(tenant_admin, sandbox, celery_worker):
    """Issue 12.21: every row was `added` (so the group looked settled, and the page stopped polling) before
    the task read the list back and filled in Kaizala's ids. The list call is held 5 s here: all rows are
    added, yet the group is busy until the read-back is in."""
    from groups.selectors import group_is_busy

    hub = create(tenant_admin, group_type=Group.Type.CONNECT_GROUP, name="Citizens")
    sandbox.inject_fault(method="POST", path="/v1/groups/*/subscribers", delay=5, count=1)
    with transaction.atomic():
        membership.subscribers_add(actor=SYSTEM, group=hub, entries=numbers(3, start=9600000000))
    wait_for(lambda: hub.subscribers.filter(state="added").count() == 3, 30, message="the rows to be added")
    assert hub.subscribers.filter(kaizala_subscriber_id="").count() == 3  # the read-back is still held
    assert group_is_busy(Group.objects.get(pk=hub.pk))
    settled(hub)
    assert hub.subscribers.filter(state="added").exclude(kaizala_subscriber_id="").count() == 3
