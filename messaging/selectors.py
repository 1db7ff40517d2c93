"""Reads for the message, schedule and dashboard pages."""

from datetime import timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from connectors import selectors as connector_selectors
from connectors.models import PhoneUser
from messaging.models import Message, Schedule

Status = Message.Status


def message_list(*, status=None, group_id=None, phone_user_id=None, date_from=None, date_to=None,
                 broadcast_id=None, created_by_id=None) -> QuerySet[Message]:
    messages = Message.objects.select_related("group", "group__phone_user").defer("subscribers")
    if status:
        messages = messages.filter(status=status)
    if group_id:
        messages = messages.filter(group_id=group_id)
    if phone_user_id:
        messages = messages.filter(group__phone_user_id=phone_user_id)
    if date_from:
        messages = messages.filter(due_at__date__gte=date_from)
    if date_to:
        messages = messages.filter(due_at__date__lte=date_to)
    if broadcast_id:
        messages = messages.filter(broadcast_id=broadcast_id)
    if created_by_id:
        messages = messages.filter(created_by_id=created_by_id)
    return messages


def message_detail(pk) -> Message:
    return Message.objects.select_related("group", "group__phone_user", "schedule", "created_by").get(pk=pk)


def schedule_list() -> QuerySet[Schedule]:
    # Meta.ordering does not apply to an aggregate query: order explicitly, or pages may overlap.
    return (Schedule.objects.select_related("created_by").prefetch_related("groups")
            .annotate(message_count=Count("messages")).order_by("-created_at", "-id"))


def dashboard() -> dict:
    now = timezone.now()
    counts = dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())
    sent_last_hour = Message.objects.filter(status=Status.SENT, sent_at__gte=now - timedelta(hours=1)).count()
    return {
        "counts": [(value, label, counts.get(value, 0)) for value, label in Status.choices],
        "next_sends": Message.objects.filter(status=Status.SCHEDULED, due_at__gte=now)
        .select_related("group").order_by("due_at")[:8],
        "next_fires": Schedule.objects.filter(state=Schedule.State.ACTIVE, next_fire_at__isnull=False)
        .order_by("next_fire_at")[:5],
        "failed": counts.get(Status.FAILED, 0),
        "unconfirmed": counts.get(Status.UNCONFIRMED, 0),
        "attention_phone_users": connector_selectors.phone_users_needing_attention()[:10],
        "reauth_count": PhoneUser.objects.filter(state=PhoneUser.State.REAUTH_REQUIRED).count(),
        "sent_last_hour": sent_last_hour,
        "per_minute_last_hour": round(sent_last_hour / 60, 1),
        "warning_horizon": connector_selectors.refresh_token_warning_horizon(),
        "getting_started": not PhoneUser.objects.filter(state=PhoneUser.State.ACTIVE).exists(),
    }
