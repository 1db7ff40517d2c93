"""Reads for the group pages."""

from django.db.models import Q, QuerySet

from connectors.models import PhoneUser
from groups.models import Group, GroupMember, GroupSubscriber, GroupSync


def group_list(*, search: str = "", phone_user_id=None, group_type: str = "") -> QuerySet[Group]:
    groups = Group.objects.select_related("phone_user", "parent")
    if search:
        groups = groups.filter(Q(name__icontains=search) | Q(kaizala_id=search))
    if phone_user_id:
        groups = groups.filter(phone_user_id=phone_user_id)
    if group_type:
        groups = groups.filter(group_type=group_type)
    return groups


def group_detail(pk: int) -> Group:
    return Group.objects.select_related("phone_user__connector", "parent").get(pk=pk)


def group_is_busy(group: Group) -> bool:
    """A task is still working on the group or one of its rows: the page keeps polling."""
    return (
        group.state == Group.State.CREATING
        or group.refresh_requested_at is not None
        or group.members.filter(state__in=GroupMember.IN_FLIGHT).exists()
        or group.subscribers.filter(state__in=GroupSubscriber.IN_FLIGHT).exists()
    )


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
