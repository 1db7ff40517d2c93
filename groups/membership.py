"""Every write about a group's members and a public group's subscribers.

A person's request marks rows (`pending`, `removing`, `changing_role`) and enqueues a task; the `_run`
functions make the Kaizala calls and move each row to its outcome with Kaizala's reason. Transient
failures raise `TryAgain` (the task retries); the rows say so meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from audit.actor import Actor
from audit.models import Kind
from audit.services import audit_record
from connectors.models import PhoneUser
from groups import selectors
from groups.kaizala_calls import CallFailed, TryAgain, run
from groups.member_input import Entry
from groups.models import Group, GroupMember, GroupSubscriber

BATCH = 100  # Kaizala takes at most 100 numbers per create or add call
SUBSCRIBER_BATCH = 30  # what Microsoft's own client sent per subscriber call
Member = GroupMember.State
Subscriber = GroupSubscriber.State


NO_ADMIN = (
    "No phone user with the Admin role reaches this group at Kaizala, and only an admin may change its members, "
    "roles, subscribers or sub-groups. Sync the groups of a phone user that is one of its admins."
)


def _require_live(group: Group) -> None:
    if group.state != Group.State.ACTIVE or not group.kaizala_id:
        raise ValidationError("This group is not active at Kaizala; members can be changed once it is.")


def require_admin(group: Group) -> PhoneUser:
    """The phone user admin-only changes go through; refused when Kaizala reports no admin among them."""
    admin = selectors.admin_phone_user(group)
    if admin is None:
        raise ValidationError(NO_ADMIN)
    return admin


def _admin_at_work(group: Group) -> PhoneUser:
    """As `require_admin`, for a task: the phone users' roles may have changed since the request."""
    admin = selectors.admin_phone_user(group)
    if admin is None:
        raise CallFailed(NO_ADMIN)
    return admin


def _read_back_requested(group: Group) -> None:
    # The task ends by reading the list back from Kaizala: the page polls until it is in.
    Group.objects.filter(pk=group.pk).update(refresh_requested_at=timezone.now())


def read_back_done(group: Group) -> None:
    """The page stops polling: the read-backs asked for by the time `group` was loaded are answered. A later
    request (a newer timestamp, from the same web clock) waits for its own task."""
    if group.refresh_requested_at is not None:
        Group.objects.filter(pk=group.pk, refresh_requested_at__lte=group.refresh_requested_at).update(
            refresh_requested_at=None)


def _note(rows: QuerySet, message: str) -> None:
    rows.update(last_error=message[:500])


def _retrying(rows: QuerySet, again: TryAgain) -> None:
    _note(rows, f"{again.message} Trying again in {round(again.delay)} s.")


def _new_and_failed(rows: QuerySet, entries: Iterable[Entry]) -> tuple[list[Entry], list[str]]:
    """The entries without a row, and the numbers whose row failed (asking again retries them)."""
    states = dict(rows.values_list("mobile_number", "state"))
    entries = list(entries)
    new = [e for e in entries if e.mobile_number not in states]
    return new, [e.mobile_number for e in entries if states.get(e.mobile_number) == "failed"]


# --- members -------------------------------------------------------------------------------------


def _members_record(actor: Actor, group: Group, summary: str) -> None:
    audit_record(actor=actor, kind=Kind.MEMBERS_CHANGED, obj=group, summary=f"“{group.name}”: {summary}")


def members_add(*, group: Group, entries: Iterable[Entry], actor: Actor) -> int:
    """Mark the numbers pending (members already added are left alone); a task adds them."""
    from groups.tasks import add_members

    _require_live(group)
    require_admin(group)
    with transaction.atomic():
        new, retry = _new_and_failed(group.members.all(), entries)
        GroupMember.objects.bulk_create(
            GroupMember(group=group, mobile_number=e.mobile_number, name=e.name, state=Member.PENDING) for e in new
        )
        group.members.filter(mobile_number__in=retry, state=Member.FAILED).update(
            state=Member.PENDING, last_error="", requested_at=timezone.now())
        _read_back_requested(group)
        if new or retry:
            _members_record(actor, group, "members added: " + ", ".join([e.mobile_number for e in new] + list(retry)))
        transaction.on_commit(lambda: add_members.delay(group.pk))
    return len(new) + len(retry)


def members_add_run(group_id: int, *, attempt: int = 0) -> None:
    group = Group.objects.select_related("phone_user").filter(pk=group_id).first()
    if group is None:
        return
    pending = group.members.filter(state=Member.PENDING)
    if not group.kaizala_id:
        pending.update(state=Member.FAILED, last_error="The group does not exist at Kaizala.")
        read_back_done(group)
        return
    try:
        add_pending_members(group, attempt=attempt)
        reconcile_members(group, attempt=attempt)
    except TryAgain as again:
        _retrying(group.members.filter(state=Member.PENDING), again)
        raise
    except CallFailed as failed:
        # Each batch's outcome is on its rows; only reading the list back failed.
        Group.objects.filter(pk=group_id).update(last_error=failed.message[:500])
    read_back_done(group)


def add_pending_members(group: Group, *, attempt: int) -> None:
    """Add the group's pending members, 100 a call; a refused batch is marked failed with the reason."""
    done: set[int] = set()
    admin = None
    while batch := list(group.members.filter(state=Member.PENDING).exclude(pk__in=done).order_by("id")[:BATCH]):
        ids = [m.pk for m in batch]
        done.update(ids)
        rows = GroupMember.objects.filter(pk__in=ids, state=Member.PENDING)
        numbers = [m.mobile_number for m in batch]
        try:
            admin = admin or _admin_at_work(group)
            added = run(admin, lambda c, n=numbers: c.add_members(group.kaizala_id, n), attempt=attempt)
        except CallFailed as failed:
            rows.update(state=Member.FAILED, last_error=failed.message[:500])
            continue
        if added:
            rows.update(state=Member.ADDED, last_error="")
        else:
            rows.update(
                state=Member.FAILED, last_error="Kaizala answered that it did not add these numbers."
            )


def reconcile_members(group: Group, *, attempt: int) -> None:
    """Make the rows match Kaizala's member list: ids, roles, provisioning; rows of members removed
    elsewhere go, members added elsewhere appear."""
    members = run(group.phone_user, lambda c: c.list_members(group.kaizala_id), attempt=attempt)
    with transaction.atomic():
        rows = {m.mobile_number: m for m in group.members.all()}
        seen = set()
        for member in members:
            number = member.mobile_number or member.member_id
            seen.add(number)
            fields = {"kaizala_member_id": member.member_id, "is_provisioned": bool(member.is_provisioned)}
            row = rows.get(number)
            if row is None:
                GroupMember.objects.create(group=group, mobile_number=number[:20], state=Member.ADDED,
                                           role=member.role or GroupMember.Role.MEMBER, **fields)
            elif row.state in (Member.REMOVING, Member.CHANGING_ROLE):
                GroupMember.objects.filter(pk=row.pk).update(**fields)  # its own task decides its state
            else:
                # From the state read only: a removal asked for meanwhile keeps its `removing`.
                GroupMember.objects.filter(pk=row.pk, state=row.state).update(
                    **fields, role=member.role or row.role, state=Member.ADDED, last_error=""
                )
        group.members.filter(state=Member.ADDED).exclude(mobile_number__in=seen).delete()
        Group.objects.filter(pk=group.pk).update(member_count=len(members), updated_at=timezone.now())


@transaction.atomic
def member_remove(*, member: GroupMember, actor: Actor) -> None:
    from groups.tasks import remove_member

    group = member.group
    if member.mobile_number == group.phone_user.mobile_number:
        raise ValidationError(
            f"{member.mobile_number} is the phone user this group sends through: removing it would make every "
            "later message fail. Choose another phone user under “Send through” first."
        )
    if not member.kaizala_member_id and GroupMember.objects.filter(pk=member.pk, state=Member.FAILED).delete()[0]:
        _members_record(actor, group, f"member {member.mobile_number} (never added) removed")
        return  # never reached Kaizala: nothing to undo there
    _require_live(group)
    require_admin(group)
    if not GroupMember.objects.filter(pk=member.pk, state__in=(Member.ADDED, Member.FAILED)).update(
        state=Member.REMOVING, last_error="", requested_at=timezone.now()
    ):
        raise ValidationError(f"{member.mobile_number} is busy; wait for the change in progress.")
    _members_record(actor, group, f"member {member.mobile_number} removed")
    transaction.on_commit(lambda: remove_member.delay(member.pk))


@dataclass
class RemovalPlan:
    """What removing the chosen members does to each (row ids), decided from their rows alone."""

    at_kaizala: list[int] = field(default_factory=list)  # removed by a task, once Kaizala confirms
    never_reached: list[int] = field(default_factory=list)  # failed before Kaizala knew them: the row is deleted
    sender: list[int] = field(default_factory=list)  # the number the group sends through: left alone
    busy: list[int] = field(default_factory=list)  # a change in progress: left alone


def plan_removal(group: Group, rows: Iterable[tuple[int, str, str, str]]) -> RemovalPlan:
    """rows: (id, mobile number, state, Kaizala member id) of the chosen members, as member_remove decides."""
    plan = RemovalPlan()
    for pk, number, state, kaizala_member_id in rows:
        if number == group.phone_user.mobile_number:
            plan.sender.append(pk)
        elif state == Member.FAILED and not kaizala_member_id:
            plan.never_reached.append(pk)
        elif state in (Member.ADDED, Member.FAILED):
            plan.at_kaizala.append(pk)
        else:
            plan.busy.append(pk)
    return plan


@dataclass(frozen=True)
class RemoveOutcome:
    pk: int
    mobile_number: str
    done: bool
    detail: str


@transaction.atomic
def members_remove(*, group: Group, member_ids, actor: Actor) -> list[RemoveOutcome]:
    """Remove many members of `group`: per row what member_remove does, with the compare-and-set of each
    transition, in queries that do not grow with the rows (one locked read, one DELETE, one UPDATE; the
    admin check once). Each row that reaches Kaizala gets its own task, as one removal does."""
    from groups.tasks import remove_member

    ids = list(dict.fromkeys(member_ids))
    rows = list(GroupMember.objects.select_for_update().filter(group=group, pk__in=ids).order_by("pk")
                .values_list("pk", "mobile_number", "state", "kaizala_member_id"))
    plan = plan_removal(group, rows)
    refusal = ""
    if plan.at_kaizala:
        try:
            _require_live(group)
            require_admin(group)
        except ValidationError as exc:
            refusal = " ".join(exc.messages)
    if plan.never_reached:
        GroupMember.objects.filter(pk__in=plan.never_reached, state=Member.FAILED).delete()
    removing = [] if refusal else plan.at_kaizala
    if removing:
        GroupMember.objects.filter(pk__in=removing, state__in=(Member.ADDED, Member.FAILED)).update(
            state=Member.REMOVING, last_error="", requested_at=timezone.now())
        transaction.on_commit(lambda: [remove_member.delay(pk) for pk in removing])
    numbers = {pk: number for pk, number, _, _ in rows}
    if removing or plan.never_reached:
        _members_record(actor, group, f"{len(removing) + len(plan.never_reached)} member(s) removed: " + ", ".join(
            numbers[pk] for pk in [*removing, *plan.never_reached]))
    said = {**{pk: (True, "Being removed: the row leaves the list once Kaizala confirms.") for pk in removing},
            **{pk: (True, "Removed: it never reached Kaizala, so only the console's row was deleted.")
               for pk in plan.never_reached},
            **{pk: (False, "Not removed: the group sends through this number; choose another phone user under "
                           "“Send through” first.") for pk in plan.sender},
            **{pk: (False, "Not removed: a change is in progress; try again when it is done.") for pk in plan.busy},
            **({pk: (False, f"Not removed: {refusal}") for pk in plan.at_kaizala} if refusal else {})}
    return [RemoveOutcome(pk, numbers.get(pk, ""), *said.get(pk, (False, "No such member of this group.")))
            for pk in ids]


def member_remove_run(member_id: int, *, attempt: int = 0) -> None:
    member = GroupMember.objects.select_related("group__phone_user").filter(pk=member_id, state=Member.REMOVING).first()
    if member is None:
        return
    group = member.group
    rows = GroupMember.objects.filter(pk=member_id, state=Member.REMOVING)
    # Kaizala addresses members by the id from its list; the number stands in before the list was read.
    member_ref = member.kaizala_member_id or member.mobile_number
    try:
        admin = _admin_at_work(group)
        run(admin, lambda c: c.remove_member(group.kaizala_id, member_ref), attempt=attempt)
    except TryAgain as again:
        _retrying(rows, again)
        raise
    except CallFailed as failed:
        rows.update(state=Member.ADDED, last_error=f"Not removed: {failed.message}"[:500])
        return
    with transaction.atomic():
        if rows.delete()[0]:
            # In the database: the count read with the member may be stale by now.
            Group.objects.filter(pk=group.pk, member_count__gt=0).update(member_count=F("member_count") - 1)


@transaction.atomic
def member_set_role(*, member: GroupMember, role: str, actor: Actor) -> None:
    from groups.tasks import set_member_role

    if role not in GroupMember.Role.values:
        raise ValidationError("The role is Admin or Member.")
    _require_live(member.group)
    require_admin(member.group)
    if not GroupMember.objects.filter(pk=member.pk, state=Member.ADDED).exclude(role=role).update(
        state=Member.CHANGING_ROLE, role=role, last_error="", requested_at=timezone.now()
    ):
        raise ValidationError(f"{member.mobile_number} is already {role.lower()} or busy.")
    audit_record(actor=actor, kind=Kind.MEMBERS_CHANGED, obj=member.group,
                 summary=f"“{member.group.name}”: {member.mobile_number} made {role}",
                 changes={"role": (member.role, role)})
    transaction.on_commit(lambda: set_member_role.delay(member.pk))


def member_set_role_run(member_id: int, *, attempt: int = 0) -> None:
    member = GroupMember.objects.select_related("group__phone_user").filter(
        pk=member_id, state=Member.CHANGING_ROLE
    ).first()
    if member is None:
        return
    group = member.group
    rows = GroupMember.objects.filter(pk=member_id, state=Member.CHANGING_ROLE)
    try:
        admin = _admin_at_work(group)
        run(admin, lambda c: c.set_member_role(
            group.kaizala_id, member.kaizala_member_id or member.mobile_number, member.role
        ), attempt=attempt)
    except TryAgain as again:
        _retrying(rows, again)
        raise
    except CallFailed as failed:
        previous = GroupMember.Role.MEMBER if member.role == GroupMember.Role.ADMIN else GroupMember.Role.ADMIN
        rows.update(state=Member.ADDED, role=previous,
                    last_error=f"Not made {member.role.lower()}: {failed.message}"[:500])
        return
    with transaction.atomic():
        rows.update(state=Member.ADDED, last_error="")
        # A phone user of the console whose role this was: its access says so before the next sync.
        group.accesses.filter(phone_user__mobile_number=member.mobile_number,
                              phone_user__token_kind=PhoneUser.TokenKind.USER).update(caller_role=member.role)


# --- subscribers (public groups) -----------------------------------------------------------------


def _require_public(group: Group) -> None:
    _require_live(group)
    if not group.is_public:
        raise ValidationError("Only a public group (ConnectGroup) has subscribers.")
    require_admin(group)


def subscribers_add(*, group: Group, entries: Iterable[Entry], actor: Actor) -> int:
    from groups.tasks import add_subscribers

    _require_public(group)
    with transaction.atomic():
        new, retry = _new_and_failed(group.subscribers.all(), entries)
        GroupSubscriber.objects.bulk_create(
            GroupSubscriber(group=group, mobile_number=e.mobile_number, name=e.name) for e in new
        )
        group.subscribers.filter(mobile_number__in=retry, state=Subscriber.FAILED).update(
            state=Subscriber.PENDING, last_error="", requested_at=timezone.now())
        _read_back_requested(group)
        if new or retry:
            _members_record(actor, group, "subscribers added: " + ", ".join(
                [e.mobile_number for e in new] + list(retry)))
        transaction.on_commit(lambda: add_subscribers.delay(group.pk))
    return len(new) + len(retry)


def _batches(rows: QuerySet) -> Iterable[list[GroupSubscriber]]:
    rows = list(rows.order_by("id"))
    for start in range(0, len(rows), SUBSCRIBER_BATCH):
        yield rows[start:start + SUBSCRIBER_BATCH]


def subscribers_add_run(group_id: int, *, attempt: int = 0) -> None:
    group = Group.objects.select_related("phone_user").filter(pk=group_id).exclude(kaizala_id="").first()
    if group is None:
        return
    try:
        for batch in _batches(group.subscribers.filter(state=Subscriber.PENDING)):
            _add_subscriber_batch(group, batch, attempt)
        reconcile_subscribers(group, attempt=attempt)
    except TryAgain as again:
        _retrying(group.subscribers.filter(state=Subscriber.PENDING), again)
        raise
    except CallFailed as failed:
        Group.objects.filter(pk=group_id).update(last_error=failed.message[:500])
    read_back_done(group)


def _add_subscriber_batch(group: Group, batch: list[GroupSubscriber], attempt: int) -> None:
    numbers = [s.mobile_number for s in batch]
    try:
        admin = _admin_at_work(group)
        outcomes = run(admin, lambda c: c.add_subscribers(group.kaizala_id, numbers), attempt=attempt)
    except CallFailed as failed:
        GroupSubscriber.objects.filter(pk__in=[s.pk for s in batch], state=Subscriber.PENDING).update(
            state=Subscriber.FAILED, last_error=failed.message[:500]
        )
        return
    for row in batch:
        outcome = outcomes.get(row.mobile_number)
        if outcome is not None and (outcome.ok or outcome.reason == "AlreadySubscribed"):
            GroupSubscriber.objects.filter(pk=row.pk, state=Subscriber.PENDING).update(
                state=Subscriber.ADDED, last_error="")
        else:
            reason = outcome.reason if outcome else "no answer for this number"
            GroupSubscriber.objects.filter(pk=row.pk, state=Subscriber.PENDING).update(
                state=Subscriber.FAILED, last_error=f"Kaizala did not add it: {reason}."[:500]
            )


@transaction.atomic
def subscriber_remove(*, subscriber: GroupSubscriber, actor: Actor) -> None:
    from groups.tasks import remove_subscribers

    if GroupSubscriber.objects.filter(pk=subscriber.pk, state=Subscriber.FAILED).delete()[0]:
        _members_record(actor, subscriber.group, f"subscriber {subscriber.mobile_number} (never added) removed")
        return  # never subscribed at Kaizala
    _require_public(subscriber.group)
    if not GroupSubscriber.objects.filter(pk=subscriber.pk, state=Subscriber.ADDED).update(
        state=Subscriber.REMOVING, last_error="", requested_at=timezone.now()
    ):
        raise ValidationError(f"{subscriber.mobile_number} is busy; wait for the change in progress.")
    _members_record(actor, subscriber.group, f"subscriber {subscriber.mobile_number} removed")
    transaction.on_commit(lambda: remove_subscribers.delay(subscriber.group_id))


def subscribers_remove_run(group_id: int, *, attempt: int = 0) -> None:
    group = Group.objects.select_related("phone_user").filter(pk=group_id).exclude(kaizala_id="").first()
    if group is None:
        return
    for batch in _batches(group.subscribers.filter(state=Subscriber.REMOVING)):
        rows = GroupSubscriber.objects.filter(pk__in=[s.pk for s in batch], state=Subscriber.REMOVING)
        numbers = [s.mobile_number for s in batch]
        try:
            admin = _admin_at_work(group)
            outcomes = run(admin, lambda c, n=numbers: c.remove_subscribers(group.kaizala_id, n), attempt=attempt)
        except TryAgain as again:
            _retrying(rows, again)
            raise
        except CallFailed as failed:
            rows.update(state=Subscriber.ADDED, last_error=f"Not removed: {failed.message}"[:500])
            continue
        gone = [n for n in numbers if (o := outcomes.get(n)) is not None and (o.ok or o.reason == "NotASubscriber")]
        rows.filter(mobile_number__in=gone).delete()
        rows.update(state=Subscriber.ADDED, last_error="Not removed: Kaizala did not confirm the removal.")


def reconcile_subscribers(group: Group, *, attempt: int) -> None:
    """Make the rows match Kaizala's subscriber list (every page)."""
    # Kaizala lists subscribers to admins only.
    subscribers = run(_admin_at_work(group), lambda c: list(c.iter_subscribers(group.kaizala_id)), attempt=attempt)
    with transaction.atomic():
        rows = {s.mobile_number: s for s in group.subscribers.all()}
        seen = set()
        for sub in subscribers:
            number = (sub.mobile_number or sub.subscriber_id)[:20]
            seen.add(number)
            fields = {"kaizala_subscriber_id": sub.subscriber_id, "name": (sub.name or "")[:200]}
            row = rows.get(number)
            if row is None:
                GroupSubscriber.objects.create(group=group, mobile_number=number, state=Subscriber.ADDED, **fields)
            elif row.state == Subscriber.REMOVING:
                GroupSubscriber.objects.filter(pk=row.pk).update(**fields)
            else:
                # From the state read only: a removal asked for meanwhile keeps its `removing`.
                GroupSubscriber.objects.filter(pk=row.pk, state=row.state).update(
                    **fields, state=Subscriber.ADDED, last_error="")
        group.subscribers.filter(state=Subscriber.ADDED).exclude(mobile_number__in=seen).delete()


# --- the sweeper's part: rows in flight for too long -----------------------------------------------


def rows_sweep(asked_before: datetime) -> dict:
    """Rows whose change was asked for before `asked_before` and is still in flight: the task is lost.
    Each goes back to what is known, with a sentence saying what to do."""
    stuck = {"requested_at__lt": asked_before}
    members = GroupMember.objects.filter(**stuck)
    counts = {
        "members_not_added": members.filter(state=Member.PENDING).update(
            state=Member.FAILED, last_error="Not added: the worker stopped before adding it. Add it again."),
        "members_not_removed": members.filter(state=Member.REMOVING).update(
            state=Member.ADDED, last_error="Not removed: the worker stopped; remove it again, or refresh from "
                                           "Kaizala to see."),
    }
    # The row holds the role asked for: back to the other one, which it had before.
    role_back = {GroupMember.Role.ADMIN: GroupMember.Role.MEMBER, GroupMember.Role.MEMBER: GroupMember.Role.ADMIN}
    counts["roles_not_changed"] = sum(
        members.filter(state=Member.CHANGING_ROLE, role=asked).update(
            state=Member.ADDED, role=previous,
            last_error="Role not changed: the worker stopped; refresh from Kaizala to see its role.")
        for asked, previous in role_back.items()
    )
    subscribers = GroupSubscriber.objects.filter(**stuck)
    counts["subscribers_not_added"] = subscribers.filter(state=Subscriber.PENDING).update(
        state=Subscriber.FAILED, last_error="Not subscribed: the worker stopped before adding it. Add it again.")
    counts["subscribers_not_removed"] = subscribers.filter(state=Subscriber.REMOVING).update(
        state=Subscriber.ADDED, last_error="Not removed: the worker stopped; remove it again, or refresh from "
                                           "Kaizala to see.")
    return counts


# --- what Kaizala reports (webhook events, applied by the events app's worker) -------------------------


def member_joined(*, group: Group, mobile_number: str, name: str = "", role: str = "") -> bool:
    """A member Kaizala reports added (MemberAdded): recorded, or an existing row brought up to date.
    Returns True when the row is new. Runs inside the caller's transaction."""
    fields = {"name": name[:200], "state": Member.ADDED, "last_error": ""}
    if role in GroupMember.Role.values:
        fields["role"] = role
    _, created = GroupMember.objects.update_or_create(group=group, mobile_number=mobile_number, defaults=fields)
    if created:
        Group.objects.filter(pk=group.pk).update(member_count=F("member_count") + 1, updated_at=timezone.now())
    return created


def member_left(*, group: Group, mobile_number: str) -> bool:
    """A member Kaizala reports removed (MemberRemoved): its row goes. Returns True when there was one."""
    deleted, _ = GroupMember.objects.filter(group=group, mobile_number=mobile_number).delete()
    if deleted:
        Group.objects.filter(pk=group.pk, member_count__gt=0).update(member_count=F("member_count") - 1,
                                                                     updated_at=timezone.now())
    return bool(deleted)
