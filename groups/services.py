"""Every write about groups: creation, sync from Kaizala, refresh of one group, the sending phone user, the
sweeper.

One Kaizala group is one row (unique Kaizala id); the phone users that reach it are GroupAccess rows with the
role Kaizala reports. State changes are compare-and-set updates, work is enqueued after commit, and the
functions ending in `_run` make the Kaizala calls: they are called from Celery tasks only (see
groups/tasks.py). They raise `kaizala_calls.TryAgain` on a transient failure (the task retries) and record
anything else on the row.
Member and subscriber writes are in groups/membership.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

import kaizala
from audit.actor import SYSTEM, Actor
from audit.models import Kind
from audit.services import audit_record
from connectors.models import PhoneUser
from groups import membership, selectors
from groups.kaizala_calls import CallFailed, TryAgain, run
from groups.member_input import Entry
from groups.models import Group, GroupAccess, GroupMember, GroupSync
from kaizala_console.text import clean_name

State = Group.State


def _move(group_id: int, allowed, state: str, **fields) -> bool:
    """Compare-and-set: move the group to `state` only from one of the `allowed` states."""
    now = timezone.now()
    return bool(Group.objects.filter(pk=group_id, state__in=allowed).update(
        state=state, state_changed_at=now, updated_at=now, **fields
    ))


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
    members: Iterable[Entry] = (), parent: Group | None = None, actor: Actor,
) -> Group:
    """Record the group as `creating` with its members pending; a task creates it at Kaizala."""
    from groups.tasks import create_group

    refusal = group_type_refusal(phone_user=phone_user, group_type=group_type)
    if refusal:
        raise ValidationError(refusal)
    if parent is not None:
        # A sub-group is made through a phone user that may change the parent, and becomes its admin.
        phone_user = membership.require_admin(parent)
    elif phone_user.token_kind == PhoneUser.TokenKind.GROUP:
        # Kaizala makes a group created with a group-level token a sub-group of the token's group.
        parent = Group.objects.filter(kaizala_id=phone_user.token_group_id).exclude(kaizala_id="").first()
    with transaction.atomic():
        group = Group.objects.create(
            phone_user=phone_user, name=name, welcome_message=welcome_message, group_type=group_type,
            parent=parent, state=State.CREATING, created_by=actor.user,
        )
        added = GroupMember.objects.bulk_create(
            GroupMember(group=group, mobile_number=e.mobile_number, name=e.name, state=GroupMember.State.PENDING)
            for e in members
        )
        audit_record(actor=actor, kind=Kind.GROUP_CREATED, obj=group,
                     summary=f"Group “{name}” ({group.get_group_type_display()}) created through "
                             f"{phone_user.mobile_number} with {len(added)} members"
                             + (f", under “{parent.name}”" if parent else ""))
        transaction.on_commit(lambda: create_group.delay(group.pk))
    return group


@transaction.atomic
def group_retry_create(*, group: Group, actor: Actor) -> None:
    from groups.tasks import create_group

    if group.kaizala_id or not _move(group.pk, (State.FAILED,), State.CREATING, last_error=""):
        raise ValidationError("Only a group whose creation failed can be tried again.")
    audit_record(actor=actor, kind=Kind.GROUP_CHANGED, obj=group, summary=f"Creation of “{group.name}” tried again")
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
        if group.kaizala_id:
            # Kaizala returned an id: the group exists. Its details come with the next refresh or sync.
            _move(group_id, (State.CREATING,), State.ACTIVE, last_error=(
                f"The group was created at Kaizala, but reading it back failed: {failed.message} "
                "Its details are read at the next sync, or refresh from Kaizala.")[:500])
        else:
            _move(group_id, (State.CREATING,), State.FAILED, last_error=failed.message[:500])
        return
    _move(group_id, (State.CREATING,), State.ACTIVE, last_error="", last_synced_at=timezone.now())


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
        _adopt_synced_twin(group, created.group_id)
        # Stored at once: a retry after this point must never create the group a second time.
        Group.objects.filter(pk=group.pk, kaizala_id="").update(kaizala_id=created.group_id, updated_at=timezone.now())
        # The creator is an admin of what it created.
        GroupAccess.objects.update_or_create(group=group, phone_user=group.phone_user,
                                             defaults={"caller_role": GroupAccess.ADMIN, "seen_at": timezone.now()})
        if created.members_added is not False:
            GroupMember.objects.filter(pk__in=[m.pk for m in first], state=GroupMember.State.PENDING).update(
                state=GroupMember.State.ADDED)
    group.kaizala_id = created.group_id


def _adopt_synced_twin(group: Group, kaizala_id: str) -> None:
    """A sync that listed the new group before its id was stored here made a row of its own: this row,
    with its members, takes its place (one Kaizala group is one row)."""
    twin = Group.objects.filter(kaizala_id=kaizala_id).exclude(pk=group.pk).first()
    if twin is None:
        return
    GroupAccess.objects.filter(group=twin).exclude(phone_user_id=group.phone_user_id).update(group=group)
    Group.objects.filter(parent=twin).update(parent=group)
    twin.delete()


def _read_back(group: Group, *, attempt: int) -> None:
    """Counts from the group's details, and its members with their Kaizala ids and roles."""
    details = run(group.phone_user, lambda c: c.get_group(group.kaizala_id), attempt=attempt)
    Group.objects.filter(pk=group.pk).update(**_fields_from(details), updated_at=timezone.now())
    _record_access(group, group.phone_user, details.caller_role, timezone.now())
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


def groups_sync_request(*, phone_user: PhoneUser, actor: Actor) -> GroupSync:
    """Start a sync for `phone_user` unless one is already running (a partial unique constraint keeps it
    to one, however many requests race)."""
    from groups.tasks import sync_groups

    if phone_user.state != PhoneUser.State.ACTIVE:
        raise ValidationError(f"Phone user {phone_user.mobile_number} is not active; onboard it first.")
    with transaction.atomic():
        running = GroupSync.objects.filter(phone_user=phone_user, state=GroupSync.State.RUNNING).first()
        if running:
            return running
        try:
            with transaction.atomic():
                sync = GroupSync.objects.create(phone_user=phone_user)
        except IntegrityError:
            running = GroupSync.objects.filter(phone_user=phone_user, state=GroupSync.State.RUNNING).first()
            if running is None:
                raise ValidationError("Another sync of this phone user was starting; try again.") from None
            return running
        audit_record(actor=actor, kind=Kind.GROUP_CHANGED, object_type="phoneuser", object_id=str(phone_user.pk),
                     summary=f"Groups of {phone_user.mobile_number} read again from Kaizala (sync started)")
        transaction.on_commit(lambda: sync_groups.delay(sync.pk))
    return sync


def groups_sync_all() -> int:
    """The periodic sync: one for every active phone user."""
    count = 0
    for phone_user in PhoneUser.objects.filter(state=PhoneUser.State.ACTIVE):
        groups_sync_request(phone_user=phone_user, actor=SYSTEM)
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


def _record_access(group: Group, phone_user: PhoneUser, caller_role: str | None, now: datetime) -> None:
    """`phone_user` reaches `group`; a listing without `callerRole` (sub-groups) keeps the role known."""
    defaults = {"seen_at": now, **({"caller_role": caller_role[:20]} if caller_role else {})}
    GroupAccess.objects.update_or_create(group=group, phone_user=phone_user, defaults=defaults)


def _upsert_seen(phone_user: PhoneUser, seen: dict[str, kaizala.Group], parents: dict[str, str]) -> int:
    """One row per Kaizala group, whichever phone user sees it, and this phone user's access with its role.
    Idempotent: a second run with the same answer changes only `last_synced_at` and `seen_at`."""
    now = timezone.now()
    rows = {g.kaizala_id: g for g in Group.objects.filter(kaizala_id__in=list(seen))}
    created = 0
    for kaizala_id, details in seen.items():
        fields = {**_fields_from(details), "last_synced_at": now}
        row = rows.get(kaizala_id)
        if row is None:
            fields.setdefault("name", kaizala_id[:100])
            try:
                with transaction.atomic():
                    row = Group.objects.create(phone_user=phone_user, kaizala_id=kaizala_id, state=State.ACTIVE,
                                               state_changed_at=now, **fields)
                created += 1
            except IntegrityError:  # another phone user's sync created it a moment ago
                row = Group.objects.get(kaizala_id=kaizala_id)
            rows[kaizala_id] = row
        elif row.state != State.CREATING:  # a creating row belongs to its creation task until it is active
            moved = {"state": State.ACTIVE, "state_changed_at": now} if row.state != State.ACTIVE else {}
            Group.objects.filter(pk=row.pk, state=row.state).update(**fields, **moved, updated_at=now)
        _record_access(row, phone_user, details.caller_role, now)
    # This phone user, an admin, becomes the sender of groups whose sender nobody chose and is no admin.
    sender_is_admin = GroupAccess.objects.filter(group=OuterRef("pk"), phone_user=OuterRef("phone_user"),
                                                 caller_role=GroupAccess.ADMIN)
    Group.objects.filter(
        pk__in=GroupAccess.objects.filter(phone_user=phone_user, caller_role=GroupAccess.ADMIN,
                                          group__kaizala_id__in=list(seen)).values("group_id"),
        phone_user_chosen=False,
    ).exclude(phone_user=phone_user).exclude(Exists(sender_is_admin)).update(phone_user=phone_user, updated_at=now)
    parent_rows = dict(
        Group.objects.filter(kaizala_id__in=set(parents.values())).values_list("kaizala_id", "pk")
    )
    for kaizala_id, row in rows.items():
        parent_id = parent_rows.get(parents.get(kaizala_id, ""))
        # Another phone user may not see the parent: only the sender's sync may say "no parent".
        if parent_id is not None or row.phone_user_id == phone_user.pk:
            Group.objects.filter(pk=row.pk).update(parent_id=parent_id)
    return created


def _mark_missing(phone_user: PhoneUser, seen: dict[str, kaizala.Group]) -> int:
    """`phone_user` no longer sees these groups: it loses its access, another phone user that still reaches
    a group takes over its sending, and a group nobody reaches is marked — never deleted (messages and
    schedules refer to it)."""
    now = timezone.now()
    lost = list(
        Group.objects.exclude(kaizala_id="").exclude(state=State.CREATING).exclude(kaizala_id__in=list(seen))
        .filter(Q(accesses__phone_user=phone_user) | Q(phone_user=phone_user)).values_list("pk", flat=True).distinct()
    )
    GroupAccess.objects.filter(phone_user=phone_user, group_id__in=lost).delete()
    for group in Group.objects.filter(pk__in=lost, phone_user=phone_user):
        other = selectors.best_sender(group)
        if other is not None:
            Group.objects.filter(pk=group.pk, phone_user=phone_user).update(
                phone_user=other, phone_user_chosen=False, updated_at=now)
    return Group.objects.filter(pk__in=lost, missing_since__isnull=True).exclude(
        Exists(GroupAccess.objects.filter(group=OuterRef("pk")))
    ).update(missing_since=now)


# --- the sending phone user ------------------------------------------------------------------------


@transaction.atomic
def group_set_sender(*, group: Group, phone_user: PhoneUser, actor: Actor) -> None:
    """An operator's choice of the phone user the group sends through: one that reaches the group."""
    if not GroupAccess.objects.filter(group=group, phone_user=phone_user).exists():
        raise ValidationError(f"Phone user {phone_user.mobile_number} does not reach this group at Kaizala.")
    if phone_user.state != PhoneUser.State.ACTIVE:
        raise ValidationError(f"Phone user {phone_user.mobile_number} is not active; onboard it again first.")
    with transaction.atomic():
        if not Group.objects.filter(pk=group.pk, phone_user=group.phone_user_id).update(
            phone_user=phone_user, phone_user_chosen=True, updated_at=timezone.now()
        ):
            raise ValidationError("Someone changed this group's sending phone user meanwhile; look again.")
        audit_record(actor=actor, kind=Kind.GROUP_CHANGED, obj=group,
                     summary=f"“{group.name}” now sends through {phone_user.mobile_number}",
                     changes={"sends through": (group.phone_user.mobile_number, phone_user.mobile_number)})


# --- refresh one group ---------------------------------------------------------------------------


@transaction.atomic
def group_refresh_request(*, group: Group, actor: Actor) -> None:
    from groups.tasks import refresh_group

    if not group.kaizala_id:
        raise ValidationError("This group does not exist at Kaizala yet.")
    Group.objects.filter(pk=group.pk).update(refresh_requested_at=timezone.now())
    audit_record(actor=actor, kind=Kind.GROUP_CHANGED, obj=group, summary=f"“{group.name}” read again from Kaizala")
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
        membership.read_back_done(group)
        Group.objects.filter(pk=group_id).update(last_error=failed.message[:500])
        return
    with transaction.atomic():
        _upsert_seen(group.phone_user, {s.group_id: s for s in subs}, {s.group_id: group.kaizala_id for s in subs})
        membership.read_back_done(group)
        Group.objects.filter(pk=group_id).update(last_error="", last_synced_at=timezone.now())


# --- the sweeper: work a crashed worker or a flushed broker left behind ----------------------------


def groups_sweep(now: datetime | None = None) -> dict:
    """Give up on work in flight for too long, so no page polls forever and no stuck sync blocks the next;
    trim old syncs. Each move is a compare-and-set from the stuck state, so a late task wins nothing back."""
    now = now or timezone.now()

    def before(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    creating = Group.objects.filter(state=State.CREATING, state_changed_at__lt=before(settings.GROUP_CREATE_TIMEOUT))
    created = creating.exclude(kaizala_id="").update(
        state=State.ACTIVE, state_changed_at=now, updated_at=now,
        last_error="The group was created at Kaizala, but the worker stopped before reading it back: "
                   "refresh from Kaizala.")
    lost = creating.filter(kaizala_id="").update(
        state=State.FAILED, state_changed_at=now, updated_at=now,
        last_error="The worker stopped while creating the group: it may exist at Kaizala anyway. Sync the "
                   "phone user's groups to see, or try again.")
    refreshes = Group.objects.filter(refresh_requested_at__lt=before(settings.GROUP_REFRESH_TIMEOUT)).update(
        refresh_requested_at=None, last_error="The refresh from Kaizala did not finish (the worker stopped); "
                                              "refresh again.")
    rows = membership.rows_sweep(before(settings.GROUP_MEMBER_CHANGE_TIMEOUT))
    syncs = GroupSync.objects.filter(
        state=GroupSync.State.RUNNING, started_at__lt=before(settings.GROUP_SYNC_TIMEOUT)
    ).update(state=GroupSync.State.FAILED, finished_at=now,
             last_error="The sync did not finish (the worker stopped); sync again.")
    newest = GroupSync.objects.filter(phone_user=OuterRef("phone_user")).order_by("-started_at", "-id")
    trimmed, _ = (GroupSync.objects.filter(started_at__lt=now - timedelta(days=settings.GROUP_SYNC_RETENTION_DAYS))
                  .exclude(state=GroupSync.State.RUNNING).exclude(pk=newest.values("pk")[:1]).delete())
    return {"created": created, "failed": lost, "refreshes": refreshes, **rows, "syncs": syncs,
            "trimmed_syncs": trimmed}
