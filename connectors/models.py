"""Connectors, the phone users whose tokens the console holds, and the log of every Kaizala call."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from kaizala_console.encryption import EncryptedTextField


class Permission(models.TextChoices):
    """The nine permissions a Kaizala connector can be granted (kaizala-api.md §4)."""

    GROUP_INFO = "group_info", "Group Information"
    GROUP_MEMBERS = "group_members", "Group Member List"
    TEXT_MESSAGE = "text_message", "Text Message"
    ACTIONS = "actions", "Action & Responses"
    USER_PROFILE = "user_profile", "User Profile"
    MEDIA = "media", "Media"
    WEBHOOKS = "webhooks", "Outgoing Webhooks"
    TENANT_DATA = "tenant_data", "Tenant Data"
    REACTIONS = "reactions", "Reactions"


def default_auth_url():
    return settings.KAIZALA_AUTH_URL


# The state enums live at module level so that each model's Meta can constrain its column to them.
class ConnectorStatus(models.TextChoices):
    UNVERIFIED = "unverified", "Unverified"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Credentials rejected"


class PhoneUserState(models.TextChoices):
    PIN_REQUESTED = "pin_requested", "PIN requested"
    PIN_FAILED = "pin_failed", "PIN failed"
    VERIFYING = "verifying", "Verifying"
    LOGIN_FAILED = "login_failed", "Login failed"
    ACTIVE = "active", "Active"
    REAUTH_REQUIRED = "reauth_required", "Re-authentication required"


class TokenKind(models.TextChoices):
    USER = "user", "User"
    GROUP = "group", "Group"
    TENANT = "tenant", "Tenant admin"


class Connector(models.Model):
    Status = ConnectorStatus

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    application_id = models.CharField("application id", max_length=100, unique=True)
    application_secret = EncryptedTextField("application secret")
    permissions = models.JSONField(default=list, blank=True)
    auth_base_url = models.URLField("auth base URL", max_length=300, default=default_auth_url)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNVERIFIED)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    status_detail = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ConnectorStatus.values), name="connector_status_valid"
            ),
        ]

    def __str__(self):
        return self.name

    def permission_labels(self):
        labels = dict(Permission.choices)
        return [labels.get(p, p) for p in self.permissions]


class PhoneUser(models.Model):
    """A Kaizala identity the console acts as: a phone onboarded by PIN, or a pasted portal token."""

    State = PhoneUserState
    TokenKind = TokenKind

    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="phone_users")
    mobile_number = models.CharField(max_length=20, help_text="E.164")
    token_kind = models.CharField(max_length=10, choices=TokenKind.choices, default=TokenKind.USER)
    label = models.CharField(max_length=100, blank=True)
    # For a group-level token: the one Kaizala group it grants (an opaque id).
    token_group_id = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PIN_REQUESTED)
    state_changed_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_code = models.CharField(max_length=100, blank=True)

    # The PIN typed by the admin waits here, encrypted, until the login task takes it (never a task argument).
    pin = EncryptedTextField(blank=True)
    pin_requested_at = models.DateTimeField(null=True, blank=True)
    pin_sent_at = models.DateTimeField(null=True, blank=True)

    refresh_token = EncryptedTextField(blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    granted_scope = models.TextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    endpoint_url = models.URLField(max_length=300, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["mobile_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "mobile_number", "token_kind", "token_group_id"], name="uniq_phone_user"
            ),
            models.CheckConstraint(condition=models.Q(state__in=PhoneUserState.values), name="phone_user_state_valid"),
            models.CheckConstraint(
                condition=models.Q(token_kind__in=TokenKind.values), name="phone_user_token_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["state", "access_token_expires_at"])]

    def __str__(self):
        return f"{self.mobile_number} ({self.connector})"


class ApiCall(models.Model):
    """One call the console made to Kaizala, as the client's recording hook reported it (already redacted)."""

    connector = models.ForeignKey(Connector, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phone_user = models.ForeignKey(PhoneUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=10)
    url = models.CharField(max_length=1000)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    error_class = models.CharField(max_length=50, blank=True)
    # Kaizala's own errorCode ("Unauthenticated", ...), beside the console's error class.
    error_code = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["connector", "-created_at"]),
            models.Index(fields=["phone_user", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.method} {self.url} → {self.status}"
