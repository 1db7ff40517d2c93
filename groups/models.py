"""Kaizala groups the console manages, and their members."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from connectors.models import PhoneUser

# The choices live at module level so that each model's Meta can name them in its CheckConstraints.


class GroupType(models.TextChoices):
    GROUP = "Group", "Group"
    CONNECT_GROUP = "ConnectGroup", "Public group (ConnectGroup)"


class GroupState(models.TextChoices):
    CREATING = "creating", "Creating"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"


class MemberRole(models.TextChoices):
    ADMIN = "Admin", "Admin"
    MEMBER = "Member", "Member"


class MemberState(models.TextChoices):
    PENDING = "pending", "Waiting to be added"
    ADDED = "added", "Added"
    FAILED = "failed", "Failed"
    REMOVING = "removing", "Being removed"
    CHANGING_ROLE = "changing_role", "Changing role"


class SubscriberState(models.TextChoices):
    PENDING = "pending", "Waiting to be added"
    ADDED = "added", "Subscribed"
    FAILED = "failed", "Failed"
    REMOVING = "removing", "Being removed"


class SyncState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Group(models.Model):
    Type = GroupType
    State = GroupState

    # Messaging sends through this phone user; admin-only changes go through an Admin-role phone user
    # (see selectors.admin_phone_user). Other phone users that reach the group are in GroupAccess.
    phone_user = models.ForeignKey(PhoneUser, on_delete=models.PROTECT, related_name="groups",
                                   help_text="The phone user this group sends through.")
    # An operator picked `phone_user`: syncs keep it while it still reaches the group.
    phone_user_chosen = models.BooleanField(default=False)
    # Kaizala's id, an opaque string (may contain '@'); empty until Kaizala has created the group.
    # One Kaizala group is one row, whichever phone users see it.
    kaizala_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=100)
    welcome_message = models.CharField(max_length=500, blank=True)
    # Who created it in the console (empty for groups read from Kaizala by a sync).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    group_type = models.CharField(max_length=20, choices=Type.choices, default=Type.GROUP)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="sub_groups")
    member_count = models.PositiveIntegerField(default=0)
    sub_group_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.CREATING)
    # When `state` last changed: the sweeper gives up on a group `creating` for too long.
    state_changed_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Set while a refresh from Kaizala is queued or running, so the page knows to keep polling.
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    # Set when a sync no longer sees the group at Kaizala: marked, never deleted (messages refer to it).
    missing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kaizala_id"], condition=~Q(kaizala_id=""), name="uniq_group_kaizala_id"),
            models.CheckConstraint(condition=Q(state__in=GroupState.values), name="group_state_valid"),
            models.CheckConstraint(condition=Q(group_type__in=GroupType.values), name="group_type_valid"),
        ]
        indexes = [models.Index(fields=["state", "name"])]

    def __str__(self):
        return self.name

    @property
    def is_public(self) -> bool:
        return self.group_type == self.Type.CONNECT_GROUP


class GroupMember(models.Model):
    Role = MemberRole
    State = MemberState

    # States in which a task still has work to do for the row.
    IN_FLIGHT = (State.PENDING, State.REMOVING, State.CHANGING_ROLE)

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="members")
    mobile_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200, blank=True)
    kaizala_member_id = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_provisioned = models.BooleanField(default=False, help_text="Kaizala knows this phone (the app is installed).")
    state = models.CharField(max_length=20, choices=State.choices, default=State.ADDED)
    # When a person asked for the change in flight: the sweeper gives up on rows in flight too long.
    requested_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["mobile_number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "mobile_number"], name="uniq_group_member"),
            models.CheckConstraint(condition=Q(state__in=MemberState.values), name="group_member_state_valid"),
            models.CheckConstraint(condition=Q(role__in=MemberRole.values), name="group_member_role_valid"),
        ]

    def __str__(self):
        return self.mobile_number


class GroupSubscriber(models.Model):
    """A subscriber of a public group (ConnectGroup): as Kaizala last listed it, or on its way in or out."""

    State = SubscriberState

    IN_FLIGHT = (State.PENDING, State.REMOVING)

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="subscribers")
    mobile_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200, blank=True)
    kaizala_subscriber_id = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # When a person asked for the change in flight: the sweeper gives up on rows in flight too long.
    requested_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["mobile_number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "mobile_number"], name="uniq_group_subscriber"),
            models.CheckConstraint(condition=Q(state__in=SubscriberState.values), name="group_subscriber_state_valid"),
        ]

    def __str__(self):
        return self.mobile_number


class GroupSync(models.Model):
    """One run of "fetch the groups this phone user sees from Kaizala", on demand or periodic."""

    State = SyncState

    phone_user = models.ForeignKey(PhoneUser, on_delete=models.CASCADE, related_name="group_syncs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    missing_count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["phone_user", "-started_at"])]
        constraints = [
            # One sync at a time per phone user, however many requests race.
            models.UniqueConstraint(fields=["phone_user"], condition=Q(state=SyncState.RUNNING),
                                    name="one_running_sync_per_phone_user"),
            models.CheckConstraint(condition=Q(state__in=SyncState.values), name="group_sync_state_valid"),
        ]

    def __str__(self):
        return f"sync of {self.phone_user} at {self.started_at:%Y-%m-%d %H:%M} ({self.state})"


class GroupAccess(models.Model):
    """A phone user that reaches a Kaizala group, with the role Kaizala reports for it (`callerRole`).
    Written by syncs, refreshes and creation; a phone user that no longer sees the group loses its row."""

    ADMIN = "Admin"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="accesses")
    phone_user = models.ForeignKey(PhoneUser, on_delete=models.CASCADE, related_name="group_accesses")
    # As Kaizala spells it ("Admin", "Member", …); empty while unknown (rows from before roles were read).
    caller_role = models.CharField(max_length=20, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["phone_user__mobile_number", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "phone_user"], name="uniq_group_access")]

    def __str__(self):
        return f"{self.phone_user} in {self.group} ({self.caller_role or 'role unknown'})"

    @property
    def is_admin(self) -> bool:
        return self.caller_role == self.ADMIN
