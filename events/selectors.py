"""Reads for the receiver and the events pages."""

from events.models import Event, Subscription


def receiving_subscription(key) -> Subscription | None:
    """The subscription a callback URL names, while Kaizala may deliver to it."""
    return Subscription.objects.filter(key=key, state__in=Subscription.RECEIVING).first()


def event_list():
    return Event.objects.select_related("subscription__group").defer("raw")
