"""The responses to the Actions the console sent (polls, surveys, jobs), and the work around them.

- A response is one row per (actionId, key): the key is the responder's phone where each member answers
  once (polls, jobs, surveys without multiple responses) and Kaizala's responseId otherwise, so a
  webhook redelivered, the generic and the specific event of one answer, and a "Refresh from Kaizala"
  all land on the same row, and an edited answer replaces the earlier one (newest `responded_at` wins).
- Choice answers are also kept as one `ResponseChoice` row per chosen option: the truth of the tallies,
  a GROUP BY away (the recount uses it).
- `ActionCount` keeps the running counts a results page shows (responses, completed, unexpected, each
  option), changed in the transaction of every response change: the page reads a few dozen rows whatever
  the number of responses. The responses and their options stay the truth (a recount rebuilds it).
- `ActionWork` holds the work in flight for one sent action (a refresh, a reminder), each with the time
  it was asked for, so the sweeper finds one whose task was lost.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ResponseSource(models.TextChoices):
    EVENT = "event", "Webhook event"
    REFRESH = "refresh", "Refresh from Kaizala"


class ActionResponse(models.Model):
    Source = ResponseSource

    # Kaizala's actionId (Message.action_id): an event can arrive before the send records it.
    action_id = models.CharField(max_length=200)
    key = models.CharField(max_length=250)
    response_id = models.CharField(max_length=200, blank=True)
    responder_phone = models.CharField(max_length=32, blank=True)
    responder_name = models.CharField(max_length=200, blank=True)
    # The answers as Kaizala gave them (positional, one per question), kept raw: a value of an
    # unexpected type is shown as it came, never dropped.
    answers = models.JSONField(default=list, blank=True)
    # Jobs: the assignee marked it done.
    is_completed = models.BooleanField(null=True, blank=True)
    # Some answer did not fit its question (the page shows it raw and says so).
    has_unexpected = models.BooleanField(default=False)
    responded_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices)
    # Its chosen options are counted (ResponseChoice rows): False while its action's message is not known
    # yet (an answer that outran the send's record of the action id); the sweeper counts it later.
    tallied = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-responded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["action_id", "key"], name="uniq_response_per_action_key"),
            models.CheckConstraint(condition=Q(source__in=ResponseSource.values), name="response_source_valid"),
        ]
        indexes = [
            # The responses table and the CSV export: keyset on (responded_at, id) within an action.
            models.Index(fields=["action_id", "-responded_at", "-id"], name="response_action_order_idx"),
            # Who has answered: one lookup per member row.
            models.Index(fields=["action_id", "responder_phone"], name="response_action_phone_idx"),
            models.Index(fields=["action_id"], condition=Q(tallied=False), name="response_untallied_idx"),
        ]

    def __str__(self):
        return f"Response {self.key} to action {self.action_id}"


class ResponseChoice(models.Model):
    """One option chosen in one response (a MultiOption answer gives several): the tallies' truth."""

    response = models.ForeignKey(ActionResponse, on_delete=models.CASCADE, related_name="choices")
    action_id = models.CharField(max_length=200)  # the response's, so a tally needs no join
    question = models.PositiveSmallIntegerField()
    option = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["action_id", "question", "option"], name="choice_tally_idx")]

    def __str__(self):
        return f"Q{self.question} option {self.option} of {self.response_id}"


class ActionCount(models.Model):
    """One running count of one action: "responses", "completed", "unexpected", or "q<question>.<option>"."""

    action_id = models.CharField(max_length=200)
    name = models.CharField(max_length=20)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["action_id", "name"], name="uniq_count_per_action_name")]

    def __str__(self):
        return f"{self.name} of action {self.action_id}: {self.count}"


class ActionWork(models.Model):
    """The refresh and the reminder asked for one sent action: at most one of each in flight."""

    message = models.OneToOneField("messaging.Message", on_delete=models.CASCADE, related_name="action_work")
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_error = models.CharField(max_length=500, blank=True)
    remind_requested_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    remind_error = models.CharField(max_length=500, blank=True)
    reminder_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["refresh_requested_at"], condition=Q(refresh_requested_at__isnull=False),
                         name="work_refresh_in_flight_idx"),
            models.Index(fields=["remind_requested_at"], condition=Q(remind_requested_at__isnull=False),
                         name="work_remind_in_flight_idx"),
        ]

    def __str__(self):
        return f"Work on message {self.message_id}"


class ReminderScheduleState(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class ReminderSchedule(models.Model):
    """"Every day at HH:MM (the admin's time zone) until the due date": the beat's sweep finds due rows."""

    State = ReminderScheduleState

    message = models.OneToOneField("messaging.Message", on_delete=models.CASCADE, related_name="reminder_schedule")
    local_time = models.TimeField()
    time_zone = models.CharField(max_length=64)
    until = models.DateTimeField()
    next_fire_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    fire_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_fire_at"], name="reminder_due_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ReminderScheduleState.values), name="reminder_state_valid"),
        ]

    def __str__(self):
        return f"Daily reminder at {self.local_time:%H:%M} {self.time_zone} for message {self.message_id}"
