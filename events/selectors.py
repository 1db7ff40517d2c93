"""Reads for the receiver and the events pages."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.db import connection
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import Event, InboundPost, InboxMark, Subscription
from kaizala_console.encryption import decrypt
from kaizala_console.hourly import per_hour
from messaging.models import Message


@dataclass(frozen=True)
class Receiving:
    """What the receiver needs of the subscription a callback URL names."""

    pk: int
    callback_token: str


@lru_cache(maxsize=256)
def _callback_token(pk: int, ciphertext: str) -> str:
    # Keyed by the stored ciphertext: a new token (or a re-encryption) is decrypted anew.
    return decrypt(ciphertext) if ciphertext else ""


def receiving_subscription(key) -> Receiving | None:
    """The subscription a callback URL names, while Kaizala may deliver to it.

    Every delivery runs this: one fixed statement (no ORM query building), and the callBackToken
    decrypted once per process and ciphertext."""
    key = Subscription._meta.get_field("key").get_db_prep_value(key, connection)
    with connection.cursor() as cursor:
        # One placeholder per state of Subscription.RECEIVING.
        cursor.execute("SELECT id, callback_token FROM events_subscription "
                       "WHERE key = %s AND state IN (%s, %s, %s, %s)", [key, *Subscription.RECEIVING])
        row = cursor.fetchone()
    return Receiving(pk=row[0], callback_token=_callback_token(row[0], row[1])) if row else None


def event_list():
    return Event.objects.select_related("subscription__group").defer("raw")


def post_feed():
    """Members' posts for the API's feed (oldest first by id, paged by the view)."""
    return InboundPost.objects.order_by()


def group_listening(group) -> Subscription | None:
    """The group's live subscription, or its latest one (failed or removed) when none is live."""
    return Subscription.objects.filter(group=group).order_by(
        "-created_at", "-id").defer("callback_token").first()


def subscription(pk) -> Subscription | None:
    return Subscription.objects.select_related("group").defer("callback_token").filter(pk=pk).first()


# --- the conversation of a group, and the Inbox ------------------------------------------------------

CONVERSATION_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """A time as whole microseconds since the epoch: exact, unlike a float timestamp, so cursors never skip."""
    return (at - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class Item:
    """One line of a conversation: one of our messages, or a post from a member."""

    at: datetime
    ours: Message | None = None
    post: InboundPost | None = None

    @property
    def cursor(self) -> str:
        return str(micros(self.at))


def conversation(group, *, before: datetime | None = None, size: int = CONVERSATION_SIZE) -> tuple[list[Item], str]:
    """The `size` latest items of the group before `before`, oldest first (newest at the bottom), and the
    cursor of the page before them ("" when there is none). Two indexed queries, whatever the history."""
    ours = Message.objects.filter(group=group).exclude(status=Message.Status.CANCELLED).annotate(
        at=Coalesce("sent_at", "due_at"))
    posts = InboundPost.objects.filter(group=group)
    if before is not None:
        ours, posts = ours.filter(at__lt=before), posts.filter(posted_at__lt=before)
    items = [Item(at=m.at, ours=m) for m in ours.order_by("-at", "-id")[:size + 1]]
    items += [Item(at=p.posted_at, post=p) for p in posts.order_by("-posted_at", "-id")[:size + 1]]
    items.sort(key=lambda item: item.at, reverse=True)
    page = items[:size]
    older = page[-1].cursor if len(items) > size else ""
    return list(reversed(page)), older


def inbox():
    return InboundPost.objects.select_related("group").order_by("-posted_at", "-id")


def inbox_seen_up_to(user) -> int:
    return InboxMark.objects.filter(user=user).values_list("seen_up_to", flat=True).first() or 0


def inbound_last_hour() -> int:
    return InboundPost.objects.filter(posted_at__gte=timezone.now() - timedelta(hours=1)).count()


def inbound_per_hour(now) -> dict:
    """The dashboard's chart of posts from members per hour (in the reader's time zone) over the last week and
    its last day: one aggregate query for both."""
    return per_hour(InboundPost.objects.all(), "posted_at", now=now, series=("posts",))


def subscriptions_needing_attention():
    """Failed or disabled listening on groups no longer listened to, with only what the dashboard shows."""
    listened = Subscription.objects.filter(state=Subscription.State.ACTIVE).values("group_id")
    return list(Subscription.objects.filter(state__in=[Subscription.State.FAILED, Subscription.State.DISABLED])
                .exclude(group__in=listened).select_related("group").only("group", "state", "group__name")
                .order_by("group__name")[:20])
