"""Reads for the receiver and the events pages."""

from events.models import Event, Subscription


def receiving_subscription(key) -> Subscription | None:
    """The subscription a callback URL names, while Kaizala may deliver to it."""
    return Subscription.objects.filter(key=key, state__in=Subscription.RECEIVING).first()


def event_list():
    return Event.objects.select_related("subscription__group").defer("raw")


def group_listening(group) -> Subscription | None:
    """The group's live subscription, or its latest one (failed or removed) when none is live."""
    return Subscription.objects.filter(group=group).order_by(
        "-created_at", "-id").defer("callback_token").first()


def subscription(pk) -> Subscription | None:
    return Subscription.objects.select_related("group").defer("callback_token").filter(pk=pk).first()
