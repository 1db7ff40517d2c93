"""Messages to groups, recurring schedules that create them, and the log of every send attempt.

The database is the source of truth: the dispatcher finds due work here, and every state change is a
compare-and-set update (see messaging/services.py), so two workers never both send one message.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from groups.models import Group

MAX_TEXT = 4000  # Kaizala's limit for one text message
# Due longer ago than this and still waiting to go out: no worker or dispatcher is keeping up.
OVERDUE_AFTER = timedelta(minutes=1)


def _only(field: str, choices, name: str, *, blank: bool = False) -> models.CheckConstraint:
    """The column holds one of its states and nothing else, whatever writes it (an update() skips choices)."""
    values = list(choices.values) + ([""] if blank else [])
    return models.CheckConstraint(condition=Q(**{f"{field}__in": values}), name=name)


# The state enums live here, not only inside their models, so that each model's Meta can constrain its
# column to them (Model.State etc. are the names to use).
class ScheduleFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class ScheduleState(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class MessageKind(models.TextChoices):
    """What a message posts: a text message (§10), one of Kaizala's Actions (§12.1) or a media post (§11.2)."""
    TEXT = "text", "Text"
    ANNOUNCEMENT = "announcement", "Announcement"
    POLL = "poll", "Poll"
    SURVEY = "survey", "Survey"
    JOB = "job", "Job"
    LETS_MEET = "letsmeet", "Let's Meet"
    IMAGE = "image", "Image"
    DOCUMENT = "document", "Document"
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    UNCONFIRMED = "unconfirmed", "Unconfirmed"
    CANCELLED = "cancelled", "Cancelled"
    # Due, but its group's connector is deactivated: nothing goes out through it. It goes out when the
    # connector is reactivated, or an operator cancels it (`hold_reason` says why it waits).
    HELD = "held", "Held"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    RETRY = "retry", "Will retry"
    FAILED = "failed", "Failed"
    UNCONFIRMED = "unconfirmed", "Unconfirmed"
    DEFERRED = "deferred", "Deferred (rate limit, re-authentication or a deactivated connector)"


class MediaFile(models.Model):
    """A file an admin uploaded to post (a media post, or an announcement's image): its bytes under
    MEDIA_ROOT, served only to logged-in users (messaging.views.media_file), never by a public URL.

    One file serves every message of a broadcast and every fire of a schedule; each message uploads it to
    Kaizala itself (the upload is per phone user) and keeps the `mediaResource` it got (Message.media_resource).
    """

    file = models.FileField(upload_to="messages/%Y/%m/")
    name = models.CharField(max_length=255, help_text="The file's name as uploaded.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Schedule(models.Model):
    """A recurrence: at `local_time` in `time_zone`, daily, on chosen weekdays, or monthly.

    The next fire is kept in UTC (`next_fire_at`) and computed from the local rule, so DST changes
    move the UTC instant, not the wall-clock time.
    """

    Frequency = ScheduleFrequency
    State = ScheduleState

    groups = models.ManyToManyField(Group, related_name="schedules")
    kind = models.CharField(max_length=12, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField(max_length=MAX_TEXT)
    # The kind's content as the console composed it (question, choices, survey questions, …); {} for text.
    card = models.JSONField(default=dict, blank=True)
    # The file a media post (or an announcement's image) posts at every fire.
    media = models.ForeignKey(MediaFile, null=True, blank=True, on_delete=models.PROTECT, related_name="schedules")
    to_all_subscribers = models.BooleanField(default=False)
    subscribers = models.JSONField(default=list, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday … 6 = Sunday (weekly)")
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True,
                                                    help_text="1–31; a shorter month fires on its last day")
    local_time = models.TimeField()
    time_zone = models.CharField(max_length=64)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    fire_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_fire_at"])]
        constraints = [
            _only("state", ScheduleState, "schedule_state_valid"),
            _only("frequency", ScheduleFrequency, "schedule_frequency_valid"),
            _only("kind", MessageKind, "schedule_kind_valid"),
        ]

    def __str__(self):
        return f"{self.get_frequency_display()} at {self.local_time:%H:%M} {self.time_zone}"


class Message(models.Model):
    Status = MessageStatus
    Kind = MessageKind

    FINAL = (Status.SENT, Status.FAILED, Status.UNCONFIRMED, Status.CANCELLED)
    # Still meant to go out on its own: late if it has not by OVERDUE_AFTER past its due time.
    WAITING = (Status.SCHEDULED, Status.QUEUED, Status.RETRYING)

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=12, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField(max_length=MAX_TEXT)
    # The kind's content as the console composed it (question, choices, survey questions, …); {} for text.
    card = models.JSONField(default=dict, blank=True)
    media = models.ForeignKey(MediaFile, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    # What Kaizala's upload of `media` answered (§11.1), kept as soon as it succeeds: a retry of the post
    # reuses it instead of uploading again.
    media_resource = models.TextField(blank=True)
    to_all_subscribers = models.BooleanField(default=False)
    subscribers = models.JSONField(default=list, blank=True)
    # One compose action may target several groups: its messages share a broadcast id.
    broadcast_id = models.UUIDField(db_index=True)
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    # When it should go out (UTC); for `retrying`, when the next attempt is due.
    due_at = models.DateTimeField()
    scheduled_for = models.DateTimeField(help_text="The time the person asked for (lateness is measured from it).")
    attempt_count = models.PositiveSmallIntegerField(default=0)
    status_changed_at = models.DateTimeField()
    reference_id = models.CharField(max_length=200, blank=True)
    # Kaizala's actionId of a posted Action (§12.1 answer): its responses are found by it.
    action_id = models.CharField(max_length=200, blank=True, db_index=True)
    # The post this message answers (Kaizala's referenceId of it, §19 replyToReferenceId); empty: not a reply.
    reply_to_reference_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    hold_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            # The dispatcher's claim query: due rows of the claimable states.
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["status_changed_at"], condition=Q(status__in=["queued", "sending"]),
                         name="msg_in_flight_idx"),
            models.Index(fields=["group", "-due_at"]),
            # The message list's order (Meta.ordering): without it every page sorted the whole table.
            models.Index(fields=["-due_at", "-id"], name="msg_list_order_idx"),
            # The dashboard's sends-per-hour chart: the outcomes of the last week (messaging.selectors).
            models.Index(fields=["status_changed_at"], name="msg_status_changed_idx"),
        ]
        constraints = [
            # A recurring fire creates exactly one message per group, however many dispatchers run.
            models.UniqueConstraint(fields=["schedule", "group", "scheduled_for"], condition=Q(schedule__isnull=False),
                                    name="uniq_schedule_fire"),
            _only("status", MessageStatus, "message_status_valid"),
            _only("kind", MessageKind, "message_kind_valid"),
        ]

    def __str__(self):
        return f"{self.group} @ {self.scheduled_for:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_overdue(self) -> bool:
        return self.status in self.WAITING and self.due_at < timezone.now() - OVERDUE_AFTER


class Attempt(models.Model):
    """One try at sending a message, with what Kaizala answered."""

    Outcome = AttemptOutcome

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_class = models.CharField(max_length=50, blank=True)
    detail = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [_only("outcome", AttemptOutcome, "attempt_outcome_valid", blank=True)]  # blank: in progress

    def __str__(self):
        return f"attempt on message {self.message_id}: {self.outcome or 'in progress'}"
