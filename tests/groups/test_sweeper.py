"""Issue 12.19: work in flight that lost its worker or its task is given up by the sweeper (beat entry
"sweep-groups"), so no page polls forever and no stuck sync blocks the next; one running sync per phone user;
old syncs trimmed. Also 12.20: each state column holds only its states."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actor import SYSTEM
from groups import services, tasks
from groups.models import Group, GroupMember, GroupSubscriber, GroupSync
from groups.selectors import group_is_busy

pytestmark = pytest.mark.django_db
LONG_AGO = timezone.now() - timedelta(days=1)


def test_the_beat_runs_the_sweeper():
    assert settings.CELERY_BEAT_SCHEDULE["sweep-groups"]["task"] == "groups.tasks.sweep"
    assert tasks.sweep.name == "groups.tasks.sweep"


def test_stuck_groups_and_rows_are_given_up_and_the_page_stops_polling(phone_user):
    created = Group.objects.create(phone_user=phone_user, name="Made", kaizala_id="g@made",
                                   state=Group.State.CREATING, state_changed_at=LONG_AGO)
    lost = Group.objects.create(phone_user=phone_user, name="Lost", state=Group.State.CREATING,
                                state_changed_at=LONG_AGO)
    fresh = Group.objects.create(phone_user=phone_user, name="Fresh", state=Group.State.CREATING)
    hub = Group.objects.create(phone_user=phone_user, name="Hub", kaizala_id="g@hub", state=Group.State.ACTIVE,
                               group_type=Group.Type.CONNECT_GROUP, refresh_requested_at=LONG_AGO)
    rows = {
        "pending": hub.members.create(mobile_number="+919800000001", state="pending", requested_at=LONG_AGO),
        "removing": hub.members.create(mobile_number="+919800000002", state="removing", requested_at=LONG_AGO),
        "to_admin": hub.members.create(mobile_number="+919800000003", state="changing_role", role="Admin",
                                       requested_at=LONG_AGO),
        "new": hub.members.create(mobile_number="+919800000004", state="pending"),
    }
    sub_pending = hub.subscribers.create(mobile_number="+919800000005", state="pending", requested_at=LONG_AGO)
    sub_removing = hub.subscribers.create(mobile_number="+919800000006", state="removing", requested_at=LONG_AGO)
    assert group_is_busy(hub)

    counts = services.groups_sweep()

    assert counts["created"] == 1 and counts["failed"] == 1 and counts["refreshes"] == 1
    created.refresh_from_db()
    assert created.state == "active" and "refresh from Kaizala" in created.last_error
    lost.refresh_from_db()
    assert lost.state == "failed" and "may exist at Kaizala anyway" in lost.last_error
    assert Group.objects.get(pk=fresh.pk).state == "creating"  # not stuck yet
    states = {name: GroupMember.objects.values_list("state", "role").get(pk=row.pk) for name, row in rows.items()}
    assert states == {"pending": ("failed", "Member"), "removing": ("added", "Member"),
                      "to_admin": ("added", "Member"), "new": ("pending", "Member")}
    assert GroupSubscriber.objects.get(pk=sub_pending.pk).state == "failed"
    assert GroupSubscriber.objects.get(pk=sub_removing.pk).state == "added"
    GroupMember.objects.filter(pk=rows["new"].pk).delete()
    assert not group_is_busy(Group.objects.get(pk=hub.pk))


def test_a_stuck_sync_is_failed_and_no_longer_blocks_the_next(phone_user, django_capture_on_commit_callbacks):
    stuck = GroupSync.objects.create(phone_user=phone_user)
    GroupSync.objects.filter(pk=stuck.pk).update(started_at=LONG_AGO)
    assert services.groups_sync_request(actor=SYSTEM, phone_user=phone_user) == stuck  # still "running"
    assert services.groups_sweep()["syncs"] == 1
    stuck.refresh_from_db()
    assert stuck.state == "failed" and "did not finish" in stuck.last_error
    with django_capture_on_commit_callbacks(execute=False):
        assert services.groups_sync_request(actor=SYSTEM, phone_user=phone_user) != stuck


def test_one_running_sync_per_phone_user_is_a_database_rule(phone_user):
    GroupSync.objects.create(phone_user=phone_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupSync.objects.create(phone_user=phone_user)
    GroupSync.objects.create(phone_user=phone_user, state=GroupSync.State.DONE)


def test_old_syncs_are_trimmed_but_the_newest_of_each_phone_user_stays(phone_user, make_phone_user):
    other = make_phone_user(mobile="+919800000005")
    old = timezone.now() - timedelta(days=settings.GROUP_SYNC_RETENTION_DAYS + 1)
    rows = [GroupSync.objects.create(phone_user=user, state="done") for user in (phone_user, phone_user, other)]
    GroupSync.objects.filter(pk__in=[r.pk for r in rows]).update(started_at=old)
    recent = GroupSync.objects.create(phone_user=phone_user, state="done")
    assert services.groups_sweep()["trimmed_syncs"] == 2
    assert set(GroupSync.objects.values_list("pk", flat=True)) == {recent.pk, rows[2].pk}


@pytest.mark.parametrize(("model", "column"), [
    (Group, "state"), (Group, "group_type"), (GroupMember, "state"), (GroupMember, "role"),
    (GroupSubscriber, "state"), (GroupSync, "state"),
])
def test_each_state_column_holds_only_its_states(phone_user, model, column):
    group = Group.objects.create(phone_user=phone_user, name="G", kaizala_id="g@1", state="active")
    row = {Group: lambda: group, GroupMember: lambda: group.members.create(mobile_number="+919800000001"),
           GroupSubscriber: lambda: group.subscribers.create(mobile_number="+919800000001"),
           GroupSync: lambda: GroupSync.objects.create(phone_user=phone_user)}[model]()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{column: "bogus"})


def test_one_kaizala_id_is_one_row(phone_user, make_phone_user):
    Group.objects.create(phone_user=phone_user, name="G", kaizala_id="g@1", state="active")
    other = make_phone_user(mobile="+919800000005")
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.create(phone_user=other, name="G again", kaizala_id="g@1", state="active")
