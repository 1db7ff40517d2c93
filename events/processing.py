"""What each event type does to the pages' data. Handlers run inside event_process's transaction,
with the event locked; an event type without a handler is stored and shown raw."""

from collections.abc import Callable

from events.models import Event

HANDLERS: dict[str, Callable[[Event], None]] = {}
