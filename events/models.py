"""Webhook subscriptions of groups and the events Kaizala delivers to them.

A stored Event is the truth: it is unique by Kaizala's `eventId` (a redelivery is stored once), saved
before the receiver answers 200, and what pages show is derived from it by a worker afterwards.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from kaizala_console.encryption import EncryptedTextField

# The event types a group subscription asks for (§14.5 of the API notes, the documented ones).
GROUP_EVENT_TYPES = (
    "ActionCreated", "ActionResponse", "SurveyCreated", "JobCreated", "SurveyResponse", "JobResponse",
    "TextMessageCreated", "AttachmentCreated", "Announcement", "MemberAdded", "MemberRemoved",
    "GroupAdded", "GroupRemoved",
)


class SubscriptionState(models.TextChoices):
    CREATING = "creating", "Being created"
    ACTIVE = "active", "Listening"
    FAILED = "failed", "Failed"
    DISABLED = "disabled", "Disabled by Kaizala"
    REMOVING = "removing", "Being removed"
    REMOVED = "removed", "Removed"


class Subscription(models.Model):
    """One Kaizala webhook on one group. Its `key` is the only id in its callback URL."""

    State = SubscriptionState
    # States in which Kaizala may still deliver to the callback URL.
    RECEIVING = (State.CREATING, State.ACTIVE, State.DISABLED, State.REMOVING)

    # A group row is deleted only with nothing sent to it (messages protect it): its listening goes with it.
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="subscriptions")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Sent by Kaizala in `kz-callback-token`; compared in constant time, never shown.
    callback_token = EncryptedTextField()
    webhook_id = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CREATING)
    state_changed_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    # The last time the periodic check found the webhook at Kaizala.
    checked_at = models.DateTimeField(null=True, blank=True)
    # The last delivery the receiver refused (bad token or body): a disable after it was not the console down.
    last_refused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=SubscriptionState.values), name="subscription_state_valid"),
            # A group is listened to by at most one subscription at a time.
            models.UniqueConstraint(fields=["group"], condition=~Q(state__in=["failed", "removed"]),
                                    name="uniq_live_subscription_per_group"),
        ]

    def __str__(self):
        return f"Subscription {self.key} of group {self.group_id} ({self.state})"


class Event(models.Model):
    """One event as Kaizala delivered it (the raw JSON), and whether it was processed."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=200, unique=True)
    event_type = models.CharField(max_length=100, blank=True)
    # The action an action event is about (`data.actionId`): responses per action are found by it.
    action_id = models.CharField(max_length=200, blank=True, db_index=True)
    raw = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The sweeper's query: stored, not processed, not failed.
            models.Index(fields=["received_at"], condition=Q(processed_at__isnull=True),
                         name="event_unprocessed_idx"),
        ]

    def __str__(self):
        return f"{self.event_type or 'event'} {self.event_id}"

    @property
    def failed(self) -> bool:
        return self.processed_at is None and bool(self.error)


class PostKind(models.TextChoices):
    TEXT = "text", "Text"
    ATTACHMENT = "attachment", "Attachment"
    ANNOUNCEMENT = "announcement", "Announcement"


class InboundPost(models.Model):
    """A post a member made in a group (TextMessageCreated, AttachmentCreated, Announcement), derived from
    its event: one event, at most one post, so processing an event again never shows it twice."""

    Kind = PostKind

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="post")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="inbound_posts")
    kind = models.CharField(max_length=15, choices=Kind.choices, default=Kind.TEXT)
    sender_phone = models.CharField(max_length=32, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    # [{"url": ..., "name": ...}], http(s) links only.
    media = models.JSONField(default=list, blank=True)
    # Kaizala's id of the post, when the event carries it: a reply names it (replyToReferenceId).
    reference_id = models.CharField(max_length=200, blank=True)
    posted_at = models.DateTimeField()

    class Meta:
        ordering = ["-posted_at", "-id"]
        indexes = [
            models.Index(fields=["group", "-posted_at", "-id"], name="post_group_order_idx"),
            models.Index(fields=["-posted_at", "-id"], name="post_inbox_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PostKind.values), name="inbound_post_kind_valid"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} from {self.sender_phone} in group {self.group_id}"


class InboxMark(models.Model):
    """How far one console user has read the Inbox: posts with a higher id are unread for them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_mark")
    seen_up_to = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Inbox of user {self.user_id} read up to post {self.seen_up_to}"
