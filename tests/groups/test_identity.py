"""One Kaizala group is one console group (issue 12.3): the phone users that reach it and their roles, the
phone user it sends through, admin-only actions only through an Admin (12.6 too). Tasks run eagerly against
the sandbox."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role
from audit.actor import SYSTEM
from groups import membership, services
from groups.member_input import Entry
from groups.models import Group, GroupAccess, GroupMember
from tests.fixtures.console import MOBILE

pytestmark = pytest.mark.django_db
MEMBER_MOBILE = "+919800000007"


@pytest.fixture
def member_user(make_phone_user):
    """A second phone user, a plain member of the group below."""
    return make_phone_user(mobile=MEMBER_MOBILE)


@pytest.fixture
def shared(sandbox):
    """A group made in the app by MOBILE (its admin) with MEMBER_MOBILE as a plain member."""
    return sandbox._control("POST", "groups", json={"name": "Shared", "admin": MOBILE, "members": [MEMBER_MOBILE]})


@pytest.fixture
def sync(django_capture_on_commit_callbacks):
    def run(phone_user):
        with django_capture_on_commit_callbacks(execute=True):
            started = services.groups_sync_request(actor=SYSTEM, phone_user=phone_user)
        started.refresh_from_db()
        assert started.state == "done", started.last_error
        return started

    return run


def roles(group: Group) -> dict[str, str]:
    return dict(GroupAccess.objects.filter(group=group).values_list("phone_user__mobile_number", "caller_role"))


def test_two_phone_users_that_see_one_group_make_one_row_with_both_roles(phone_user, member_user, shared, sync,
                                                                         client_for):
    sync(phone_user)
    assert sync(member_user).created_count == 0
    group = Group.objects.get()
    assert group.kaizala_id == shared["groupId"]
    assert roles(group) == {MOBILE: "Admin", MEMBER_MOBILE: "Member"}
    assert group.phone_user == phone_user
    client = client_for(Role.VIEWER)
    # The list filtered by a phone user shows the groups it reaches, once.
    listed = client.get(reverse("groups:list"), {"phone_user": member_user.pk}).context["page"]
    assert [g.pk for g in listed] == [group.pk]
    page = client.get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert page.count('data-testid="access-row"') == 2 and f"{MEMBER_MOBILE} (Member)" not in page


def test_a_group_first_seen_by_a_member_offers_no_admin_action_until_an_admin_reaches_it(
    phone_user, member_user, shared, sync, client_for, sandbox
):
    sync(member_user)
    group = Group.objects.get()
    assert group.phone_user == member_user and roles(group) == {MEMBER_MOBILE: "Member"}
    with pytest.raises(ValidationError, match="No phone user with the Admin role"):
        membership.members_add(actor=SYSTEM, group=group, entries=[Entry("+919800000008")])
    member = group.members.create(mobile_number="+919800000009", state=GroupMember.State.ADDED)
    with pytest.raises(ValidationError, match="No phone user with the Admin role"):
        membership.member_set_role(actor=SYSTEM, member=member, role="Admin")
    client = client_for(Role.OPERATOR)
    page = client.get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert 'data-testid="no-admin"' in page and "Add members" not in page and "Make admin" not in page
    assert sandbox.calls(route="addMembers") == []

    sync(phone_user)  # the admin syncs: the group now sends through it, and admin actions are offered
    group.refresh_from_db()
    assert group.phone_user == phone_user and not group.phone_user_chosen
    page = client.get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert 'data-testid="no-admin"' not in page and "Add members" in page


def test_the_operator_chooses_the_phone_user_to_send_through(phone_user, member_user, shared, sync, client_for,
                                                             make_phone_user):
    sync(phone_user)
    sync(member_user)
    group = Group.objects.get()
    client = client_for(Role.OPERATOR)
    page = client.get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert f"{MEMBER_MOBILE} (Member)" in page and f"{MOBILE} (Admin)" in page  # the "Send through" choices
    url = reverse("groups:sender", args=[group.pk])
    stranger = make_phone_user(mobile="+919800000006")
    for bad in ("abc", stranger.pk, ""):
        response = client.post(url, {"phone_user": bad}, follow=True)
        assert response.status_code == 200 and "Send through" in response.content.decode()
        group.refresh_from_db()
        assert group.phone_user == phone_user

    client.post(url, {"phone_user": member_user.pk})
    group.refresh_from_db()
    assert group.phone_user == member_user and group.phone_user_chosen
    sync(phone_user)  # a later sync keeps the operator's choice
    group.refresh_from_db()
    assert group.phone_user == member_user
    # Admin-only changes still go through the admin.
    from groups.selectors import admin_phone_user

    assert admin_phone_user(group) == phone_user


def test_a_phone_user_that_no_longer_sees_the_group_hands_its_sending_to_another(
    phone_user, member_user, shared, sync, sandbox
):
    sync(phone_user)
    sync(member_user)
    group = Group.objects.get()
    Group.objects.filter(pk=group.pk).update(phone_user=member_user)
    # The admin removes the member at Kaizala (raw HTTP, as the app would).
    base, headers = f"{phone_user.endpoint_url.rstrip('/')}/v1/groups/{shared['groupId']}/members", {
        "accessToken": phone_user.access_token}
    members = sandbox.http.get(base, headers=headers, timeout=10).json()["members"]
    member_id = next(m["id"] for m in members if m["mobileNumber"] == MEMBER_MOBILE)
    assert sandbox.http.delete(f"{base}/{member_id}", headers=headers, timeout=10).status_code == 200
    assert sync(member_user).missing_count == 0
    group.refresh_from_db()
    assert group.phone_user == phone_user and group.missing_since is None
    assert roles(group) == {MOBILE: "Admin"}


def test_the_sending_phone_user_cannot_be_removed_from_the_members(phone_user, group, client_for,
                                                                   django_capture_on_commit_callbacks, sandbox):
    """Issue 12.6: removing it was one click, and every later message failed with 403."""
    with django_capture_on_commit_callbacks(execute=True):
        services.group_refresh_request(actor=SYSTEM, group=group)
    own = group.members.get(mobile_number=MOBILE)
    with pytest.raises(ValidationError, match="the phone user this group sends through"):
        membership.member_remove(actor=SYSTEM, member=own)
    client = client_for(Role.OPERATOR)
    response = client.post(reverse("groups:member_remove", args=[group.pk, own.pk]), {"confirmed": "1"}, follow=True)
    assert "the phone user this group sends through" in response.content.decode()
    own.refresh_from_db()
    assert own.state == GroupMember.State.ADDED
    assert sandbox.calls(route="removeMember") == []
    page = client.get(reverse("groups:detail", args=[group.pk])).content.decode()
    assert reverse("groups:member_remove", args=[group.pk, own.pk]) not in page


def test_promoting_a_phone_user_of_the_console_updates_its_role(phone_user, member_user, shared, sync,
                                                                django_capture_on_commit_callbacks):
    sync(phone_user)
    sync(member_user)
    group = Group.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.group_refresh_request(actor=SYSTEM, group=group)
    with django_capture_on_commit_callbacks(execute=True):
        membership.member_set_role(actor=SYSTEM, member=group.members.get(mobile_number=MEMBER_MOBILE), role="Admin")
    assert roles(group) == {MOBILE: "Admin", MEMBER_MOBILE: "Admin"}
