"""What each event type does to the pages' data. Handlers run inside event_process's transaction, with
the event locked, so each applies at most once; an event type without a handler is stored and shown raw.
The response events (ActionResponse, SurveyResponse, JobResponse, …) are handled by the actions app, which
sits above this one and registers its handler here when it loads (actions/handlers.py); *Created events
need none."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from events.models import Event, InboundPost
from groups import membership

HANDLERS: dict[str, Callable[[Event], None]] = {}


def handles(*event_types: str):
    def register(handler):
        for event_type in event_types:
            HANDLERS[event_type] = handler
        return handler

    return register


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


def _is_our_own_send(event: Event, reference_id: str, text: str) -> bool:
    """A message the console sent, echoed back by Kaizala: already on the page as ours. Known by its
    reference id; or, when the echo outruns the worker recording that id (Kaizala posts it during the send
    call), by our phone user sending that text right now."""
    from messaging.models import Message

    ours = Message.objects.filter(group=event.subscription.group_id)
    if reference_id and ours.filter(reference_id=reference_id).exists():
        return True
    sender = event.raw.get("fromUser")
    return bool(sender) and ours.filter(status=Message.Status.SENDING, reference_id="", text=text,
                                        group__phone_user__mobile_number=sender).exists()


@handles("TextMessageCreated", "AttachmentCreated", "Announcement")
def post_created(event: Event) -> None:
    data = _data(event)
    reference_id = _str(data.get("referenceId"), 200)
    if _is_our_own_send(event, reference_id, _str(data.get("text"), 10000)):
        return
    kind = {"AttachmentCreated": InboundPost.Kind.ATTACHMENT,
            "Announcement": InboundPost.Kind.ANNOUNCEMENT}.get(event.event_type, InboundPost.Kind.TEXT)
    # get_or_create: the post is derived from its event and may be rebuilt by processing the event again.
    InboundPost.objects.get_or_create(event=event, defaults={
        "group_id": event.subscription.group_id, "kind": kind,
        "sender_phone": _str(event.raw.get("fromUser"), 32), "sender_name": _str(event.raw.get("fromUserName"), 200),
        "title": _str(data.get("title"), 500), "text": _str(data.get("text") or data.get("caption"), 10000),
        "media": _media(data.get("media")), "reference_id": reference_id, "posted_at": event.received_at,
    })


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
