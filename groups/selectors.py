"""Reads for the group pages."""

from django.db.models import QuerySet

from connectors.models import PhoneUser
from groups.models import Group, GroupAccess, GroupMember, GroupSubscriber, GroupSync


def group_list() -> QuerySet[Group]:
    """Every group; the list's filters are groups.filters.GroupFilter. The phone user's encrypted fields stay
    unread (a list shows its number; a read field is decrypted for every row)."""
    return Group.objects.select_related("phone_user", "parent").defer(
        "phone_user__pin", "phone_user__refresh_token", "phone_user__access_token")


def group_menu() -> QuerySet:
    """(pk, name) of every group, in name order, for a filter menu."""
    return Group.objects.order_by("name", "id").values_list("id", "name")


def group_chosen(pk) -> tuple[int, str] | None:
    """(pk, name) of the group a filter names (a valid pk or ""), for its menu before the menu is opened."""
    return Group.objects.filter(pk=pk).values_list("id", "name").first() if str(pk).isdigit() else None


def group_detail(pk: int) -> Group:
    return Group.objects.select_related("phone_user__connector", "parent", "created_by").get(pk=pk)


def group_is_busy(group: Group) -> bool:
    """A task is still working on the group or one of its rows: the page keeps polling."""
    return (
        group.state == Group.State.CREATING
        or group.refresh_requested_at is not None
        or group.members.filter(state__in=GroupMember.IN_FLIGHT).exists()
        or group.subscribers.filter(state__in=GroupSubscriber.IN_FLIGHT).exists()
    )


def chosen_members(group: Group, ids) -> list[tuple[int, str, str, str]]:
    """(id, mobile number, state, Kaizala member id) of the chosen members of `group`, for a bulk removal's
    confirmation (groups.membership.plan_removal): one query."""
    return list(group.members.filter(pk__in=list(ids)).order_by("pk")
                .values_list("pk", "mobile_number", "state", "kaizala_member_id"))


def group_accesses(group: Group) -> list[GroupAccess]:
    """The phone users that reach the group, with the role Kaizala reports for each."""
    return list(group.accesses.select_related("phone_user").order_by("phone_user__mobile_number"))


def _admin_of(group: Group, accesses: list[GroupAccess]) -> PhoneUser | None:
    by_phone_user = {a.phone_user_id: a for a in accesses}
    sender = by_phone_user.get(group.phone_user_id)
    if sender is not None and sender.is_admin:
        return group.phone_user
    for access in accesses:
        if access.is_admin and access.phone_user.state == PhoneUser.State.ACTIVE:
            return access.phone_user
    # Rows from before roles were read: Kaizala decides, as it did before.
    return group.phone_user if sender is None or not sender.caller_role else None


def admin_phone_user(group: Group, accesses: list[GroupAccess] | None = None) -> PhoneUser | None:
    """The phone user admin-only changes (members, roles, subscribers, sub-groups) go through: the sending
    one when Kaizala reports it Admin, else another active one with the Admin role; None when none is."""
    return _admin_of(group, group_accesses(group) if accesses is None else accesses)


def best_sender(group: Group) -> PhoneUser | None:
    """Another phone user to send through when the sending one no longer reaches the group: an active
    admin first, then any active one."""
    others = [a for a in group_accesses(group) if a.phone_user_id != group.phone_user_id
              and a.phone_user.state == PhoneUser.State.ACTIVE]
    others.sort(key=lambda a: not a.is_admin)
    return others[0].phone_user if others else None


def active_phone_users() -> QuerySet[PhoneUser]:
    return PhoneUser.objects.filter(state=PhoneUser.State.ACTIVE, connector__is_active=True).select_related("connector")


def latest_syncs() -> list[GroupSync]:
    """The newest sync of each phone user that ever synced."""
    latest: dict[int, GroupSync] = {}
    for sync in GroupSync.objects.select_related("phone_user").order_by("-started_at", "-id")[:200]:
        latest.setdefault(sync.phone_user_id, sync)
    return list(latest.values())


def sync_is_running() -> bool:
    return GroupSync.objects.filter(state=GroupSync.State.RUNNING).exists()


def recent_messages(group: Group, limit: int = 20):
    return group.messages.order_by("-due_at", "-id")[:limit]
