"""API keys and the idempotency records of API writes.

A key is shown once, when it is created; only its SHA-256 is kept (a key has 256 bits of randomness, so
a fast hash is enough: nobody can guess one to match). The visible prefix lets people tell keys apart.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from rest_framework.utils.encoders import JSONEncoder

from kaizala_console.encryption import EncryptedTextField


class ApiKey(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys",
                              help_text="The key acts with this console user's role.")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Where this key's system hears of events (api/callbacks.py); empty: no callbacks.
    callback_url = models.URLField(max_length=500, blank=True)
    callback_events = models.JSONField(default=list, blank=True)
    # Signs each delivery (HMAC-SHA256); shown once, when the URL is registered.
    callback_secret = EncryptedTextField(blank=True)
    # Deliveries given up on in a row; at API_CALLBACK_DISABLE_AFTER the callback is switched off.
    callback_failures = models.PositiveIntegerField(default=0)
    callback_disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class Delivery(models.Model):
    """One event for one key's callback URL: recorded with the change that caused it, sent by a worker,
    retried with back-off until delivered or API_CALLBACK_MAX_ATTEMPTS attempts have failed."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=50)
    payload = models.JSONField()
    url = models.URLField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    state_changed_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempt_count = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        constraints = [
            # One delivery per event and key: a retry is an attempt, never a second delivery.
            models.UniqueConstraint(fields=["api_key", "event_id"], name="uniq_delivery_event"),
            models.CheckConstraint(condition=Q(state__in=["pending", "sending", "delivered", "failed"]),
                                   name="delivery_state_valid"),
        ]

    def __str__(self):
        return f"{self.event_type} to {self.url} ({self.state})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"attempt on delivery {self.delivery_id}: {self.status_code or self.error}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an `Idempotency-Key`: claimed (inserted) in the same transaction as
    the create, so of two requests with one key only one can create; the other gets this answer."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # Method, path and body, hashed: the same key with another request is a conflict, not a replay.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    # Encoded as the API encodes its answers (a replay is the same JSON), in one pass.
    response_body = models.JSONField(null=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="uniq_idempotency_key")]

    def __str__(self):
        return f"idempotency key of API key {self.api_key_id}"
