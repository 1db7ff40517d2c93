"""One Kaizala group is one console row: record who reaches each group, merge the rows that share a Kaizala
id, and leave at most one running sync per phone user, so that 0005's constraints hold.

Merging keeps the oldest row of each Kaizala id (the console made it, or it was synced first) and moves to it
everything that pointed at the others: phone users' access, members and subscribers it lacks, sub-groups,
messages and schedules (in the messaging app, through its historical models)."""

from django.db import migrations
from django.db.models import Count, Max


def record_access(apps, schema_editor):
    Group = apps.get_model("groups", "Group")
    GroupAccess = apps.get_model("groups", "GroupAccess")
    # The role is unknown until the next sync reads `callerRole`.
    GroupAccess.objects.bulk_create(
        [GroupAccess(group_id=pk, phone_user_id=phone_user_id, caller_role="")
         for pk, phone_user_id in Group.objects.values_list("pk", "phone_user_id")],
        ignore_conflicts=True,
    )


def merge_duplicates(apps, schema_editor):
    Group = apps.get_model("groups", "Group")
    GroupAccess = apps.get_model("groups", "GroupAccess")
    Message = apps.get_model("messaging", "Message")
    Schedule = apps.get_model("messaging", "Schedule")
    duplicated = (Group.objects.exclude(kaizala_id="").values("kaizala_id").annotate(n=Count("pk"))
                  .filter(n__gt=1).values_list("kaizala_id", flat=True))
    for kaizala_id in list(duplicated):
        keep, *others = Group.objects.filter(kaizala_id=kaizala_id).order_by("pk")
        for other in others:
            _merge(keep, other, GroupAccess, Message, Schedule, Group)
        keep.save()


def _merge(keep, other, GroupAccess, Message, Schedule, Group):
    for access in GroupAccess.objects.filter(group=other):
        if not GroupAccess.objects.filter(group=keep, phone_user_id=access.phone_user_id).exists():
            GroupAccess.objects.filter(pk=access.pk).update(group=keep)
    for related in (other.members, other.subscribers):
        present = set(related.model.objects.filter(group=keep).values_list("mobile_number", flat=True))
        related.exclude(mobile_number__in=present).update(group=keep)
    Group.objects.filter(parent=other).update(parent=keep)
    # A schedule that reached both rows fired twice into one Kaizala group: the second message of a fire
    # stays on record, detached from its schedule (one message per schedule, group and fire).
    fires = set(Message.objects.filter(group=keep, schedule__isnull=False).values_list("schedule_id", "scheduled_for"))
    for pk, schedule_id, scheduled_for in Message.objects.filter(group=other, schedule__isnull=False).values_list(
            "pk", "schedule_id", "scheduled_for"):
        if (schedule_id, scheduled_for) in fires:
            Message.objects.filter(pk=pk).update(schedule=None)
    Message.objects.filter(group=other).update(group=keep)
    for schedule in Schedule.objects.filter(groups=other):
        schedule.groups.add(keep)
    if other.missing_since is None:
        keep.missing_since = None
    if other.last_synced_at and (keep.last_synced_at is None or other.last_synced_at > keep.last_synced_at):
        keep.last_synced_at = other.last_synced_at
    if keep.state != "active" and other.state == "active":
        keep.state = "active"
    other.delete()


def one_running_sync(apps, schema_editor):
    GroupSync = apps.get_model("groups", "GroupSync")
    for row in GroupSync.objects.filter(state="running").values("phone_user_id").annotate(
            n=Count("pk"), newest=Max("pk")).filter(n__gt=1):
        GroupSync.objects.filter(phone_user_id=row["phone_user_id"], state="running").exclude(
            pk=row["newest"]).update(state="failed", last_error="Another sync of this phone user ran at the same time.")


class Migration(migrations.Migration):

    dependencies = [
        ("groups", "0003_identity_access_timestamps"),
        ("messaging", "0002_message_list_order_idx"),
    ]

    operations = [
        migrations.RunPython(record_access, migrations.RunPython.noop),
        migrations.RunPython(merge_duplicates, migrations.RunPython.noop),
        migrations.RunPython(one_running_sync, migrations.RunPython.noop),
    ]
