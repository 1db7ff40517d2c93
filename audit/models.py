from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    """What an audit record is about."""

    CONNECTOR_REGISTERED = "connector_registered", "Connector registered"
    CONNECTOR_EDITED = "connector_edited", "Connector edited"
    CONNECTOR_DEACTIVATED = "connector_deactivated", "Connector deactivated"
    CONNECTOR_ACTIVATED = "connector_activated", "Connector activated"
    PHONE_USER_ONBOARDED = "phone_user_onboarded", "Phone user onboarded"
    PHONE_USER_REMOVED = "phone_user_removed", "Phone user removed"
    GROUP_CREATED = "group_created", "Group created"
    GROUP_CHANGED = "group_changed", "Group changed"
    MEMBERS_CHANGED = "members_changed", "Members changed"
    MESSAGE_COMPOSED = "message_composed", "Message composed"
    MESSAGE_EDITED = "message_edited", "Message edited"
    MESSAGE_CANCELLED = "message_cancelled", "Message cancelled"
    MESSAGE_RETRIED = "message_retried", "Message retried"
    MESSAGE_MARKED_SENT = "message_marked_sent", "Message marked sent"
    SCHEDULE_CREATED = "schedule_created", "Schedule created"
    SCHEDULE_PAUSED = "schedule_paused", "Schedule paused"
    SCHEDULE_RESUMED = "schedule_resumed", "Schedule resumed"
    SCHEDULE_ENDED = "schedule_ended", "Schedule ended"
    SCHEDULE_EDITED = "schedule_edited", "Schedule edited"
    LISTENING_STARTED = "listening_started", "Listening to a group started"
    LISTENING_STOPPED = "listening_stopped", "Listening to a group stopped"
    LISTENING_REENABLED = "listening_reenabled", "Listening to a group re-enabled"
    EVENT_PROCESSED_AGAIN = "event_processed_again", "Event processed again"
    ACTION_REFRESH_REQUESTED = "action_refresh_requested", "Action responses refreshed from Kaizala"
    ACTION_REMINDED = "action_reminded", "Action reminder sent"
    REMINDER_SCHEDULED = "reminder_scheduled", "Action reminder scheduled"
    REMINDER_STOPPED = "reminder_stopped", "Action reminder schedule stopped"
    USER_INVITED = "user_invited", "User invited"
    USER_CHANGED = "user_changed", "User or role changed"
    KEY_CREATED = "key_created", "API key created"
    KEY_REVOKED = "key_revoked", "API key revoked"
    CALLBACK_REGISTERED = "callback_registered", "API callback registered"
    CALLBACK_REMOVED = "callback_removed", "API callback removed"
    DELIVERY_REPLAYED = "delivery_replayed", "API callback delivery replayed"
    LOGIN = "login", "Login"
    LOGOUT = "logout", "Logout"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOCKOUT = "lockout", "Lockout"


class AuditRecord(models.Model):
    """One write a person, an API key or the system made: who, when, from where, what. Never a secret.
    Written by the services in the transaction of the change; never edited, deleted only by retention."""

    Kind = Kind

    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    # The name as it was (the user may be renamed or deleted later), or "API key <label>", or "system".
    actor_name = models.CharField(max_length=160)
    api_key = models.CharField(max_length=100, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.TextField()
    # {field: [before, after]} for edits.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object"),
            models.Index(fields=["user", "-at"], name="audit_user"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=Kind.values), name="audit_kind_known")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name}: {self.summary}"
