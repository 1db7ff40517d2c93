"""Reads for the message, schedule and dashboard pages."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from connectors import selectors as connector_selectors
from connectors.models import Connector, PhoneUser
from groups.models import Group
from kaizala_console.hourly import per_hour
from kaizala_console.kept import kept
from messaging.models import OVERDUE_AFTER, MediaFile, Message, Schedule

Status = Message.Status


def message_list() -> QuerySet[Message]:
    """Every message, for the list page; its filters are applied by messaging.filters.MessageFilter."""
    return Message.objects.select_related("group", "group__phone_user").defer("subscribers")


def message_page() -> QuerySet[Message]:
    """Every message, for the list page: only the columns its table shows (and the cursor's), with the group's
    name; not the phone user (its row carries encrypted tokens the page would decrypt for nothing)."""
    return Message.objects.select_related("group").only(
        "id", "scheduled_for", "schedule_id", "text", "status", "due_at", "sent_at", "attempt_count", "group__name")


def message_detail(pk) -> Message:
    return Message.objects.select_related("group__phone_user__connector", "schedule", "created_by", "media").get(pk=pk)


def media_files() -> QuerySet[MediaFile]:
    return MediaFile.objects.all()


def schedule_list() -> QuerySet[Schedule]:
    # Meta.ordering does not apply to an aggregate query: order explicitly, or pages may overlap.
    return (Schedule.objects.select_related("created_by", "media").prefetch_related("groups")
            .annotate(message_count=Count("messages")).order_by("-created_at", "-id"))


def messages_by_status(ids) -> dict[str, int]:
    """How many of the messages `ids` are in each status (for a bulk action's confirmation): one query."""
    return dict(Message.objects.filter(pk__in=list(ids)).values_list("status").annotate(n=Count("id")).order_by())


def schedule_waiting_count(schedule: Schedule) -> int:
    """Messages the schedule created that have not gone out yet (what ending or pausing it leaves alone)."""
    return schedule.messages.filter(status__in=[*Message.WAITING, Status.HELD]).count()


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def connector_activation_effects(connector: Connector, active: bool) -> list[str]:
    """What (de)activating `connector` does to sends, for its confirmation page."""
    groups = Group.objects.filter(phone_user__connector=connector).values("pk")
    if active:
        held = Message.objects.filter(status=Status.HELD, group__in=groups).count()
        return [f"{_plural(held, 'held message goes', 'held messages go')} out now."]
    waiting = Message.objects.filter(status__in=Message.WAITING, group__in=groups).count()
    schedules = Schedule.objects.filter(state=Schedule.State.ACTIVE, groups__in=groups).distinct().count()
    return [
        f"{_plural(waiting, 'scheduled message', 'scheduled messages')} to its groups will be held when due "
        "instead of sent: they wait, and go out if it is reactivated, or can be cancelled together.",
        f"{_plural(schedules, 'recurring schedule', 'recurring schedules')} to its groups keep firing, into held "
        "messages (a schedule may also serve groups of other connectors, which go on as before).",
        "A message already being sent at this moment finishes.",
    ]


def held_messages(*, connector: Connector | None = None) -> QuerySet[Message]:
    held = Message.objects.filter(status=Status.HELD)
    if connector is not None:
        held = held.filter(group__phone_user__connector=connector)
    return held


def message_status_counts() -> list[tuple[str, int]]:
    """(status, count) for every status that has messages: one grouped query (dashboard, metrics)."""
    return list(Message.objects.values_list("status").annotate(n=Count("id")).order_by())


CHART_STATUSES = (Status.SENT, Status.FAILED, Status.UNCONFIRMED)


def sends_per_hour(now) -> dict:
    """The dashboard's charts: messages that became sent, failed or unconfirmed in each hour (in the reader's
    time zone) of the last week, and of its last day. One aggregate query for both."""
    return per_hour(Message.objects.filter(status__in=CHART_STATUSES), "status_changed_at", now=now,
                    series=CHART_STATUSES, by="status")


def dashboard_totals(now) -> dict:
    """The dashboard's figures over the whole message table (messages per status, overdue, sent in the last hour,
    the sends-per-hour charts), kept a few seconds (kaizala_console/kept.py): counting every message by status is
    a scan of the table, and a backlog makes the overdue count one too."""
    return kept("dashboard-messages", lambda: {
        "counts": dict(message_status_counts()),
        # Due a while ago and still not sent: no worker (or dispatcher) is keeping up.
        "overdue": Message.objects.filter(status__in=Message.WAITING, due_at__lt=now - OVERDUE_AFTER).count(),
        "sent_last_hour": Message.objects.filter(status=Status.SENT, sent_at__gte=now - timedelta(hours=1)).count(),
        "send_chart": sends_per_hour(now),
    })


def dashboard() -> dict:
    now = timezone.now()
    totals = dashboard_totals(now)
    counts, sent_last_hour = totals["counts"], totals["sent_last_hour"]
    attention_phone_users = list(connector_selectors.phone_users_needing_attention()[:10])
    attention = {
        "failed": counts.get(Status.FAILED, 0),
        "unconfirmed": counts.get(Status.UNCONFIRMED, 0),
        "held": counts.get(Status.HELD, 0),
        "overdue": totals["overdue"],
        "attention_phone_users": attention_phone_users,
    }
    return {
        **attention,
        "nothing_needs_attention": not any(attention.values()),
        # Only what the dashboard shows: not the encrypted secret (it would be decrypted for nothing).
        "held_connectors": list(Connector.objects.filter(
            is_active=False, phone_users__groups__messages__status=Status.HELD).distinct().order_by("name")
            .only("pk", "name")[:5])
        if attention["held"] else [],
        "counts": [(value, label, counts.get(value, 0)) for value, label in Status.choices],
        "next_sends": list(Message.objects.filter(status=Status.SCHEDULED, due_at__gte=now)
                           .select_related("group").only("text", "due_at", "group__name").order_by("due_at")[:8]),
        "next_fires": list(Schedule.objects.filter(state=Schedule.State.ACTIVE, next_fire_at__isnull=False)
                           .only("frequency", "local_time", "time_zone", "next_fire_at").order_by("next_fire_at")[:5]),
        "sent_last_hour": sent_last_hour,
        "send_chart": totals["send_chart"],
        "totals_as_of": totals["as_of"],
        "totals_kept_seconds": settings.DASHBOARD_TOTALS_SECONDS,
        "per_minute_last_hour": round(sent_last_hour / 60, 1),
        "getting_started": not PhoneUser.objects.filter(state=PhoneUser.State.ACTIVE).exists(),
    }


def dispatch_next_due(*, after):
    """The earliest time after `after` at which a message becomes claimable or a schedule fires (None when
    nothing is waiting): when the dispatcher must look again. Rows due at or before `after` are the pass's
    own; counting them would wake it again and again for a message its phone user cannot send yet."""
    times = [
        Message.objects.filter(status__in=[Status.SCHEDULED, Status.RETRYING], due_at__gt=after)
        .order_by("due_at").values_list("due_at", flat=True).first(),
        Schedule.objects.filter(state=Schedule.State.ACTIVE, next_fire_at__gt=after)
        .order_by("next_fire_at").values_list("next_fire_at", flat=True).first(),
    ]
    return min((t for t in times if t is not None), default=None)
