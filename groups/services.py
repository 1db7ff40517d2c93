"""Every write about groups: creation, sync from Kaizala, refresh of one group.

State changes are compare-and-set updates, work is enqueued after commit, and the functions ending in
`_run` make the Kaizala calls: they are called from Celery tasks only (see groups/tasks.py). They raise
`kaizala_calls.TryAgain` on a transient failure (the task retries) and record anything else on the row.
Member and subscriber writes are in groups/membership.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import kaizala
from connectors.models import PhoneUser
from groups import membership
from groups.kaizala_calls import CallFailed, TryAgain, run
from groups.member_input import Entry
from groups.models import Group, GroupMember, GroupSync
from kaizala_console.text import clean_name

State = Group.State


def group_type_refusal(*, phone_user: PhoneUser, group_type: str) -> str | None:
    """Why `phone_user` cannot create a group of this type, or None."""
    if group_type == Group.Type.CONNECT_GROUP and phone_user.token_kind != PhoneUser.TokenKind.TENANT:
        return (
            f"A public group (ConnectGroup) can only be created through a tenant-admin token; "
            f"{phone_user.mobile_number} holds a {phone_user.get_token_kind_display().lower()} token. "
            "Add a tenant-admin token under Phone users, or create a Group."
        )
    return None


def group_create(
    *, phone_user: PhoneUser, name: str, welcome_message: str, group_type: str = Group.Type.GROUP,
    members: Iterable[Entry] = (), parent: Group | None = None,
) -> Group:
    """Record the group as `creating` with its members pending; a task creates it at Kaizala."""
    from groups.tasks import create_group

    refusal = group_type_refusal(phone_user=phone_user, group_type=group_type)
    if refusal:
        raise ValidationError(refusal)
    if parent is None and phone_user.token_kind == PhoneUser.TokenKind.GROUP:
        # Kaizala makes a group created with a group-level token a sub-group of the token's group.
        parent = Group.objects.filter(phone_user=phone_user, kaizala_id=phone_user.token_group_id).first()
    with transaction.atomic():
        group = Group.objects.create(
            phone_user=phone_user, name=name, welcome_message=welcome_message, group_type=group_type,
            parent=parent, state=State.CREATING,
        )
        GroupMember.objects.bulk_create(
            GroupMember(group=group, mobile_number=e.mobile_number, name=e.name, state=GroupMember.State.PENDING)
            for e in members
        )
        transaction.on_commit(lambda: create_group.delay(group.pk))
    return group


def group_retry_create(*, group: Group) -> None:
    from groups.tasks import create_group

    if not Group.objects.filter(pk=group.pk, state=State.FAILED).update(
        state=State.CREATING, last_error="", updated_at=timezone.now()
    ):
        raise ValidationError("Only a group whose creation failed can be tried again.")
    transaction.on_commit(lambda: create_group.delay(group.pk))


def _note(group_id: int, message: str) -> None:
    Group.objects.filter(pk=group_id).update(last_error=message[:500], updated_at=timezone.now())


def group_create_run(group_id: int, *, attempt: int = 0) -> None:
    """Create the group with its first 100 members, add the rest in batches, read back what Kaizala
    holds, and make the group active. A retry resumes where the last try stopped."""
    group = Group.objects.select_related("phone_user", "parent").filter(pk=group_id).first()
    if group is None or group.state != State.CREATING:
        return
    try:
        if not group.kaizala_id:
            _create_at_kaizala(group, attempt)
        membership.add_pending_members(group, attempt=attempt)
        _read_back(group, attempt=attempt)
    except TryAgain as again:
        _note(group_id, f"{again.message} Trying again in {round(again.delay)} s.")
        raise
    except CallFailed as failed:
        Group.objects.filter(pk=group_id, state=State.CREATING).update(
            state=State.FAILED, last_error=failed.message[:500], updated_at=timezone.now()
        )
        return
    Group.objects.filter(pk=group_id, state=State.CREATING).update(
        state=State.ACTIVE, last_error="", last_synced_at=timezone.now(), updated_at=timezone.now()
    )


def _create_at_kaizala(group: Group, attempt: int) -> None:
    first = list(group.members.filter(state=GroupMember.State.PENDING).order_by("id")[: membership.BATCH])
    numbers = [m.mobile_number for m in first]
    if group.parent_id:
        if not group.parent.kaizala_id:
            raise CallFailed("The parent group does not exist at Kaizala yet.")
        created = run(group.phone_user, lambda c: c.create_subgroup(
            group.parent.kaizala_id, group.name, group.welcome_message, members=numbers
        ), attempt=attempt)
    else:
        created = run(group.phone_user, lambda c: c.create_group(
            group.name, group.welcome_message, members=numbers, group_type=group.group_type
        ), attempt=attempt)
    with transaction.atomic():
        # Stored at once: a retry after this point must never create the group a second time.
        Group.objects.filter(pk=group.pk).update(kaizala_id=created.group_id, updated_at=timezone.now())
        if created.members_added is not False:
            GroupMember.objects.filter(pk__in=[m.pk for m in first]).update(state=GroupMember.State.ADDED)
    group.kaizala_id = created.group_id


def _read_back(group: Group, *, attempt: int) -> None:
    """Counts from the group's details, and its members with their Kaizala ids and roles."""
    details = run(group.phone_user, lambda c: c.get_group(group.kaizala_id), attempt=attempt)
    Group.objects.filter(pk=group.pk).update(**_fields_from(details), updated_at=timezone.now())
    membership.reconcile_members(group, attempt=attempt)


def _fields_from(details: kaizala.Group) -> dict:
    """The columns a Kaizala answer fills; what it leaves out (a sub-group list has no counts) stays."""
    fields: dict = {"missing_since": None}
    if name := clean_name(details.group_name or ""):  # a name from Kaizala may carry a bidi override too
        fields["name"] = name[:100]
    if details.group_type in Group.Type.values:
        fields["group_type"] = details.group_type
    if details.welcome_message is not None:
        fields["welcome_message"] = details.welcome_message[:500]
    if details.current_level_user_count is not None:
        fields["member_count"] = details.current_level_user_count
    sub_groups = details.raw.get("currentLevelSubGroupCount")
    if isinstance(sub_groups, int):
        fields["sub_group_count"] = sub_groups
    return fields


# --- sync: the groups a phone user sees ------------------------------------------------------------


def groups_sync_request(*, phone_user: PhoneUser) -> GroupSync:
    """Start a sync for `phone_user` unless one is already running."""
    from groups.tasks import sync_groups

    if phone_user.state != PhoneUser.State.ACTIVE:
        raise ValidationError(f"Phone user {phone_user.mobile_number} is not active; onboard it first.")
    with transaction.atomic():
        running = GroupSync.objects.filter(phone_user=phone_user, state=GroupSync.State.RUNNING).first()
        if running:
            return running
        sync = GroupSync.objects.create(phone_user=phone_user)
        transaction.on_commit(lambda: sync_groups.delay(sync.pk))
    return sync


def groups_sync_all() -> int:
    """The periodic sync: one for every active phone user."""
    count = 0
    for phone_user in PhoneUser.objects.filter(state=PhoneUser.State.ACTIVE):
        groups_sync_request(phone_user=phone_user)
        count += 1
    return count


def groups_sync_run(sync_id: int, *, attempt: int = 0) -> None:
    sync = GroupSync.objects.select_related("phone_user").filter(pk=sync_id, state=GroupSync.State.RUNNING).first()
    if sync is None:
        return
    phone_user = sync.phone_user
    try:
        seen = {
            g.group_id: g
            for fetch_all in (False, True)
            for g in run(phone_user, lambda c, a=fetch_all: c.list_groups(show_details=True, fetch_all=a),
                         attempt=attempt)
        }
        parents = {
            sub.group_id: g.group_id
            for g in seen.values() if g.has_sub_groups
            for sub in run(phone_user, lambda c, gid=g.group_id: c.list_subgroups(gid), attempt=attempt)
        }
    except TryAgain as again:
        GroupSync.objects.filter(pk=sync_id).update(last_error=f"{again.message} Trying again."[:500])
        raise
    except CallFailed as failed:
        GroupSync.objects.filter(pk=sync_id, state=GroupSync.State.RUNNING).update(
            state=GroupSync.State.FAILED, last_error=failed.message[:500], finished_at=timezone.now()
        )
        return
    with transaction.atomic():
        created = _upsert_seen(phone_user, seen, parents)
        missing = _mark_missing(phone_user, seen)
        GroupSync.objects.filter(pk=sync_id, state=GroupSync.State.RUNNING).update(
            state=GroupSync.State.DONE, finished_at=timezone.now(), seen_count=len(seen), created_count=created,
            missing_count=missing, last_error="",
        )


def _upsert_seen(phone_user: PhoneUser, seen: dict[str, kaizala.Group], parents: dict[str, str]) -> int:
    """Insert or update one row per group; idempotent: a second run with the same answer changes only
    `last_synced_at`."""
    now = timezone.now()
    rows = {g.kaizala_id: g for g in Group.objects.filter(phone_user=phone_user, kaizala_id__in=list(seen))}
    created = 0
    for kaizala_id, details in seen.items():
        fields = {**_fields_from(details), "last_synced_at": now}
        row = rows.get(kaizala_id)
        if row is None:
            fields.setdefault("name", kaizala_id[:100])
            rows[kaizala_id] = Group.objects.create(
                phone_user=phone_user, kaizala_id=kaizala_id, state=State.ACTIVE, **fields
            )
            created += 1
        elif row.state == State.CREATING:
            continue  # its creation task owns it until it is active
        else:
            Group.objects.filter(pk=row.pk).update(**fields, state=State.ACTIVE, updated_at=now)
    parent_rows = dict(
        Group.objects.filter(phone_user=phone_user, kaizala_id__in=set(parents.values()))
        .values_list("kaizala_id", "pk")
    )
    for kaizala_id, row in rows.items():
        Group.objects.filter(pk=row.pk).update(parent_id=parent_rows.get(parents.get(kaizala_id, "")))
    return created


def _mark_missing(phone_user: PhoneUser, seen: dict[str, kaizala.Group]) -> int:
    # Marked, never deleted: messages and schedules refer to the row.
    return (
        Group.objects.filter(phone_user=phone_user, missing_since__isnull=True)
        .exclude(kaizala_id="").exclude(state=State.CREATING).exclude(kaizala_id__in=list(seen))
        .update(missing_since=timezone.now())
    )


# --- refresh one group ---------------------------------------------------------------------------


def group_refresh_request(*, group: Group) -> None:
    from groups.tasks import refresh_group

    if not group.kaizala_id:
        raise ValidationError("This group does not exist at Kaizala yet.")
    Group.objects.filter(pk=group.pk).update(refresh_requested_at=timezone.now())
    transaction.on_commit(lambda: refresh_group.delay(group.pk))


def group_refresh_run(group_id: int, *, attempt: int = 0) -> None:
    """Details, members, sub-groups and (for a public group) subscribers, as Kaizala holds them now."""
    group = Group.objects.select_related("phone_user").filter(pk=group_id).exclude(kaizala_id="").first()
    if group is None:
        return
    try:
        _read_back(group, attempt=attempt)
        subs = run(group.phone_user, lambda c: c.list_subgroups(group.kaizala_id), attempt=attempt)
        if group.is_public:
            membership.reconcile_subscribers(group, attempt=attempt)
    except TryAgain as again:
        _note(group_id, f"{again.message} Trying again in {round(again.delay)} s.")
        raise
    except CallFailed as failed:
        if isinstance(failed.error, kaizala.NotFound):
            Group.objects.filter(pk=group_id, missing_since__isnull=True).update(missing_since=timezone.now())
        Group.objects.filter(pk=group_id).update(refresh_requested_at=None, last_error=failed.message[:500])
        return
    with transaction.atomic():
        _upsert_seen(group.phone_user, {s.group_id: s for s in subs}, {s.group_id: group.kaizala_id for s in subs})
        Group.objects.filter(pk=group_id).update(
            refresh_requested_at=None, last_error="", last_synced_at=timezone.now()
        )
