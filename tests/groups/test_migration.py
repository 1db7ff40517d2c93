"""Issue 12.3: the data migration merges the rows that share a Kaizala id into one, moving members,
subscribers, sub-groups, messages and schedules to it, and records the phone users that reached them."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from connectors.models import Connector, PhoneUser
from groups.models import Group, GroupAccess, GroupSubscriber, GroupSync
from messaging.models import Message

BEFORE = [("groups", "0003_identity_access_timestamps")]
AFTER = [("groups", "0005_one_row_per_kaizala_group")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def before_the_merge():
    migrate(BEFORE)
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_duplicate_rows_of_one_kaizala_group_are_merged(before_the_merge):
    # Group, Schedule and Message have gained columns since 0003 (a group's created_by, a message's kind and
    # card): their rows are made with the models of the migrated-back state; the others' have not changed.
    loader = MigrationExecutor(connection).loader
    old = loader.project_state(list(loader.applied_migrations)).apps  # every app as migrating back left it
    OldGroup, OldSchedule, OldMessage = (old.get_model(*name) for name in (
        ("groups", "Group"), ("messaging", "Schedule"), ("messaging", "Message")))
    connector = Connector.objects.create(name="C", application_id="app", application_secret="s",
                                         auth_base_url="http://127.0.0.1:9")
    admin, member = (PhoneUser.objects.create(connector=connector, mobile_number=m, state="active")
                     for m in ("+919800000001", "+919800000002"))
    kept = OldGroup.objects.create(phone_user_id=admin.pk, kaizala_id="k@1", name="Shared", state="active")
    twin = OldGroup.objects.create(phone_user_id=member.pk, kaizala_id="k@1", name="Shared", state="active",
                                   member_count=5)
    other = OldGroup.objects.create(phone_user_id=admin.pk, kaizala_id="k@2", name="Other", state="active")
    child = OldGroup.objects.create(phone_user_id=member.pk, kaizala_id="k@3", name="Child", state="active",
                                    parent_id=twin.pk)
    for group, numbers in ((kept, ("+919811111111", "+919822222222")), (twin, ("+919822222222", "+919833333333"))):
        for number in numbers:
            group.members.create(mobile_number=number)
    twin.subscribers.create(mobile_number="+919844444444", state="added")
    now = timezone.now()
    schedule = OldSchedule.objects.create(text="Daily", frequency="daily", local_time="09:00", time_zone="UTC",
                                       start_date=now.date(), next_fire_at=now + timedelta(days=1))
    schedule.groups.set([kept.pk, twin.pk])

    def message(group, **fields):
        return OldMessage.objects.create(group_id=group.pk, text="Hi", broadcast_id=uuid4(), due_at=now,
                                         scheduled_for=now, status_changed_at=now, **fields)

    fired_to_kept, fired_to_twin, sent_to_twin = message(kept, schedule=schedule), message(twin, schedule=schedule), \
        message(twin)
    for _ in range(2):
        GroupSync.objects.create(phone_user=admin)

    migrate(AFTER)

    assert list(Group.objects.filter(kaizala_id="k@1").values_list("pk", flat=True)) == [kept.pk]
    assert set(GroupAccess.objects.filter(group_id=kept.pk).values_list("phone_user_id", "caller_role")) == {
        (admin.pk, ""), (member.pk, "")}
    assert list(GroupAccess.objects.filter(group_id=other.pk).values_list("phone_user_id", flat=True)) == [admin.pk]
    assert sorted(kept.members.values_list("mobile_number", flat=True)) == [
        "+919811111111", "+919822222222", "+919833333333"]
    assert list(GroupSubscriber.objects.values_list("group_id", flat=True)) == [kept.pk]
    assert Group.objects.values_list("parent_id", flat=True).get(pk=child.pk) == kept.pk
    assert set(Message.objects.values_list("pk", "group_id", "schedule_id")) == {
        (fired_to_kept.pk, kept.pk, schedule.pk), (fired_to_twin.pk, kept.pk, None), (sent_to_twin.pk, kept.pk, None)}
    assert list(schedule.groups.values_list("pk", flat=True)) == [kept.pk]
    assert GroupSync.objects.filter(state="running").count() == 1
