"""What each event type does to the pages' data. Handlers run inside the transaction that marks the event
processed, with the event locked, so each applies at most once; an event type without a handler is stored
and shown raw. The response events (ActionResponse, SurveyResponse, JobResponse, …) are handled by the actions
app, which sits above this one and registers its handler here when it loads (actions/handlers.py); *Created
events need none.

A handler takes one event. One may also have a `batch` form taking a list (the posts: a few statements
for a hundred events instead of a few per event); `handle_batch` uses it when it is there, and the
one-event form otherwise."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from events import signals
from events.models import Event, InboundPost
from groups import membership

HANDLERS: dict[str, Callable[[Event], None]] = {}


def handles(*event_types: str, batch: Callable[[list[Event]], None] | None = None):
    def register(handler):
        if batch is not None:
            handler.batch = batch
        for event_type in event_types:
            HANDLERS[event_type] = handler
        return handler

    return register


def handle_batch(events: list[Event]) -> None:
    """Apply `events` (locked, in order): each handler's batch form once for its events, or its one-event
    form for each. Events of different handlers do not depend on each other (a post, a member change)."""
    by_handler: dict[Callable, list[Event]] = {}
    for event in events:
        handler = HANDLERS.get(event.event_type)
        if handler is not None:
            by_handler.setdefault(handler, []).append(event)
    for handler, mine in by_handler.items():
        batch = getattr(handler, "batch", None)
        if batch is not None:
            batch(mine)
        else:
            for event in mine:
                handler(event)


def _data(event: Event) -> dict:
    from events.services import EventInvalid

    data = event.raw.get("data")
    if not isinstance(data, dict):
        raise EventInvalid("The event carries no data object.")
    return data


def _str(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _media(items) -> list[dict]:
    """Links to the files a post carries; only http(s) URLs (a javascript: link is dropped, not shown)."""
    links = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        url = _str(item.get("mediaUrl") or item.get("url"), 2000)
        if urlsplit(url).scheme in ("http", "https"):
            links.append({"url": url, "name": _str(item.get("mediaFileName") or item.get("fileName"), 200)})
    return links


def _our_sends(candidates: list[tuple[Event, str, str]]) -> set[int]:
    """The pks of the events among (event, reference id, text) that echo messages the console sent: already
    on the page as ours. Known by the reference id; or, when the echo outruns the worker recording that id
    (Kaizala posts it during the send call), by our phone user sending that text right now. Two queries for
    any number of events."""
    from messaging.models import Message

    groups = {event.subscription.group_id for event, _, _ in candidates}
    references = {reference_id for _, reference_id, _ in candidates if reference_id}
    known = set(Message.objects.filter(group__in=groups, reference_id__in=references).values_list(
        "group_id", "reference_id")) if references else set()
    echoes = [(event, text, _str(event.raw.get("fromUser"), 200)) for event, reference_id, text in candidates
              if (event.subscription.group_id, reference_id) not in known]
    echoes = [(event, text, sender) for event, text, sender in echoes if sender]
    sending = set(Message.objects.filter(
        group__in={event.subscription.group_id for event, _, _ in echoes}, status=Message.Status.SENDING,
        reference_id="", text__in={text for _, text, _ in echoes},
        group__phone_user__mobile_number__in={sender for _, _, sender in echoes},
    ).values_list("group_id", "text", "group__phone_user__mobile_number")) if echoes else set()
    echoed = {event.pk for event, text, sender in echoes if (event.subscription.group_id, text, sender) in sending}
    return echoed | {event.pk for event, reference_id, _ in candidates
                     if (event.subscription.group_id, reference_id) in known}


def _post(event: Event, data: dict, reference_id: str) -> InboundPost:
    kind = {"AttachmentCreated": InboundPost.Kind.ATTACHMENT,
            "Announcement": InboundPost.Kind.ANNOUNCEMENT}.get(event.event_type, InboundPost.Kind.TEXT)
    return InboundPost(
        event=event, group_id=event.subscription.group_id, kind=kind,
        sender_phone=_str(event.raw.get("fromUser"), 32), sender_name=_str(event.raw.get("fromUserName"), 200),
        title=_str(data.get("title"), 500), text=_str(data.get("text") or data.get("caption"), 10000),
        media=_media(data.get("media")), reference_id=reference_id, posted_at=event.received_at,
    )


def posts_created(events: list[Event]) -> None:
    candidates = []
    for event in events:
        data = _data(event)
        candidates.append((event, data, _str(data.get("referenceId"), 200)))
    ours = _our_sends([(event, reference_id, _str(data.get("text"), 10000))
                       for event, data, reference_id in candidates])
    posts = [_post(event, data, reference_id) for event, data, reference_id in candidates if event.pk not in ours]
    # Conflicts ignored: the post is derived from its event (one each) and may be rebuilt by processing the
    # event again.
    InboundPost.objects.bulk_create(posts, ignore_conflicts=True)
    if posts:
        signals.posts_created.send(sender=InboundPost, posts=posts)


@handles("TextMessageCreated", "AttachmentCreated", "Announcement", batch=posts_created)
def post_created(event: Event) -> None:
    posts_created([event])


@handles("MemberAdded", "MemberRemoved")
def member_changed(event: Event) -> None:
    from events.services import EventInvalid

    data = _data(event)
    mobile = _str(data.get("member"), 32)
    if not mobile:
        raise EventInvalid("The event names no member (data.member).")
    group = event.subscription.group
    if event.event_type == "MemberAdded":
        membership.member_joined(group=group, mobile_number=mobile, name=_str(data.get("memberName"), 200),
                                 role=_str(data.get("type"), 10))
    else:
        membership.member_left(group=group, mobile_number=mobile)
