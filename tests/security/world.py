"""A small console world (one of every object a URL can point at) and the walk of the URL conf, shared
by the access matrix, the CSRF test, the header test and the secret scan."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from connectors.models import ApiCall, Connector, PhoneUser
from events.models import Event, Subscription
from groups.models import Group, GroupMember, GroupSubscriber
from messaging.models import MediaFile, Message, Schedule

# Nothing listens on the discard port: a task a POST enqueues (eagerly, in tests) fails fast.
DEAD_KAIZALA = "http://127.0.0.1:9"
_serial = itertools.count(1)


def walk(patterns=None, prefix="", namespace=""):
    """(name, route) for every URL of the console, including the admin's."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {prefix}{entry.pattern}>",
                   prefix + str(entry.pattern))


def all_routes() -> list[tuple[str, str]]:
    seen = {}
    for name, route in walk():
        seen.setdefault(name, route)
    return sorted(seen.items())


def make_world(secret: str = "world-connector-secret-123", **text) -> dict:
    """One connector, an active phone user, a group with a member and a subscriber, a message, a
    schedule and an API call. `text` may override the free-text fields (for escaping tests)."""
    now = timezone.now()
    n = next(_serial)
    connector = Connector.objects.create(name=text.get("connector_name", "World connector"),
                                         application_id=f"app-world-{n}", application_secret=secret,
                                         auth_base_url=DEAD_KAIZALA)
    phone_user = PhoneUser.objects.create(
        connector=connector, mobile_number=f"+9198{n:08d}", token_kind="user", token_group_id="",
        state=PhoneUser.State.ACTIVE, refresh_token="rt-world-refresh-secret", access_token="at-world-access-secret",
        access_token_expires_at=now + timedelta(hours=24), endpoint_url=f"{DEAD_KAIZALA}/kms/",
        last_error=text.get("kaizala_error", ""))
    group = Group.objects.create(phone_user=phone_user, kaizala_id=f"g{n}@world", name=text.get("group_name", "World"),
                                 state=Group.State.ACTIVE, last_error=text.get("kaizala_error", ""))
    member = GroupMember.objects.create(group=group, mobile_number="+919800022222",
                                        name=text.get("member_name", "Member"),
                                        last_error=text.get("kaizala_error", ""))
    subscriber = GroupSubscriber.objects.create(group=group, mobile_number="+919800033333",
                                                name=text.get("member_name", "Subscriber"))
    message = Message.objects.create(
        group=group, text=text.get("message_text", "Hello"), broadcast_id="00000000-0000-0000-0000-000000000001",
        status=text.get("message_status", Message.Status.SCHEDULED), due_at=now + timedelta(days=1),
        scheduled_for=now + timedelta(days=1), status_changed_at=now, last_error=text.get("kaizala_error", ""))
    schedule = Schedule.objects.create(
        text=text.get("message_text", "Daily"), frequency="daily", local_time="09:00", time_zone="UTC",
        start_date=now.date(), next_fire_at=now + timedelta(days=1))
    schedule.groups.set([group])
    call = ApiCall.objects.create(connector=connector, phone_user=phone_user, method="POST",
                                  url=f"{DEAD_KAIZALA}/kms/v1/groups/g{n}@world/messages", status=500,
                                  duration_ms=3, request_body='{"message": "Hello"}',
                                  response_body=text.get("kaizala_error", '{"message": "oops"}'))
    media = MediaFile(name="site.png", content_type="image/png", size=16)
    media.file.save("site.png", ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8), save=False)
    media.save()
    user = get_user_model().objects.create_user(username=f"world-user-{n}", email=f"world{n}@example.org")
    subscription = Subscription.objects.create(group=group, callback_token="world-callback-token-secret",
                                               state=Subscription.State.ACTIVE, webhook_id=f"wh-world-{n}")
    event = Event.objects.create(
        subscription=subscription, event_id=f"world-event-{n}", event_type="TextMessageCreated",
        raw={"eventId": f"world-event-{n}", "data": {"text": text.get("message_text", "Hi")}},
        error=text.get("kaizala_error", "It failed."))
    return {"user": user, "connector": connector, "phone_user": phone_user, "group": group, "member": member,
            "subscriber": subscriber, "message": message, "schedule": schedule, "call": call,
            "subscription": subscription, "event": event, "media": media}


def url_for(route: str, world: dict) -> str:
    """The route with real ids of the world's objects (an admin regex route gets sample values)."""
    def fill(match):
        name = match.group(2)
        return {"member_pk": str(world["member"].pk), "subscriber_pk": str(world["subscriber"].pk),
                "key": str(world["subscription"].key),
                "action": "ACTION", "app_label": "auth", "object_id": "1"}.get(name, "PK")

    path = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", path).replace("^", "").replace("$", "")
    return "/" + path


def concrete(name: str, route: str, world: dict) -> str:
    """`route` with the pk of the object its name points at."""
    target = {
        "connectors:detail": "connector", "connectors:edit": "connector", "connectors:deactivate": "connector",
        "connectors:activate": "connector", "connectors:call": "call",
        "messaging:schedule": "schedule", "messaging:schedule_action": "schedule",
        "events:listen": "group", "events:stop": "subscription", "events:reenable": "subscription",
        "events:conversation": "group", "events:conversation_items": "group", "events:reply": "group",
        "messaging:schedule_edit": "schedule", "messaging:media": "media",
    }.get(name)
    if name.startswith("accounts:"):
        target = "user"
    if target is None:
        if name.startswith("connectors:"):
            target = "phone_user"
        elif name.startswith("groups:"):
            target = "group"
        elif name.startswith("messaging:"):
            target = "message"
        elif name.startswith("events:"):
            target = "event"
        elif name.startswith("actions:"):
            target = "message"
    path = url_for(route, world).replace("ACTION", "pause" if name == "messaging:schedule_action" else "cancel")
    return path.replace("PK", str(world[target].pk)) if target else path.replace("PK", "1")
