"""Kaizala groups the console manages, and their members."""

from django.db import models
from django.db.models import Q

from connectors.models import PhoneUser


class Group(models.Model):
    class Type(models.TextChoices):
        GROUP = "Group", "Group"
        CONNECT_GROUP = "ConnectGroup", "Public group (ConnectGroup)"

    class State(models.TextChoices):
        CREATING = "creating", "Creating"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"

    phone_user = models.ForeignKey(PhoneUser, on_delete=models.PROTECT, related_name="groups",
                                   help_text="The phone user the console manages this group through.")
    # Kaizala's id, an opaque string (may contain '@'); empty until Kaizala has created the group.
    kaizala_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=100)
    welcome_message = models.CharField(max_length=500, blank=True)
    group_type = models.CharField(max_length=20, choices=Type.choices, default=Type.GROUP)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="sub_groups")
    member_count = models.PositiveIntegerField(default=0)
    sub_group_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.CREATING)
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
            models.UniqueConstraint(fields=["phone_user", "kaizala_id"], condition=~Q(kaizala_id=""),
                                    name="uniq_group_per_phone_user"),
        ]
        indexes = [models.Index(fields=["state", "name"])]

    def __str__(self):
        return self.name

    @property
    def is_public(self) -> bool:
        return self.group_type == self.Type.CONNECT_GROUP


class GroupMember(models.Model):
    class Role(models.TextChoices):
        ADMIN = "Admin", "Admin"
        MEMBER = "Member", "Member"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be added"
        ADDED = "added", "Added"
        FAILED = "failed", "Failed"
        REMOVING = "removing", "Being removed"
        CHANGING_ROLE = "changing_role", "Changing role"

    # States in which a task still has work to do for the row.
    IN_FLIGHT = (State.PENDING, State.REMOVING, State.CHANGING_ROLE)

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="members")
    mobile_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200, blank=True)
    kaizala_member_id = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_provisioned = models.BooleanField(default=False, help_text="Kaizala knows this phone (the app is installed).")
    state = models.CharField(max_length=20, choices=State.choices, default=State.ADDED)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["mobile_number"]
        constraints = [models.UniqueConstraint(fields=["group", "mobile_number"], name="uniq_group_member")]

    def __str__(self):
        return self.mobile_number


class GroupSubscriber(models.Model):
    """A subscriber of a public group (ConnectGroup): as Kaizala last listed it, or on its way in or out."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be added"
        ADDED = "added", "Subscribed"
        FAILED = "failed", "Failed"
        REMOVING = "removing", "Being removed"

    IN_FLIGHT = (State.PENDING, State.REMOVING)

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="subscribers")
    mobile_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200, blank=True)
    kaizala_subscriber_id = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["mobile_number"]
        constraints = [models.UniqueConstraint(fields=["group", "mobile_number"], name="uniq_group_subscriber")]

    def __str__(self):
        return self.mobile_number


class GroupSync(models.Model):
    """One run of "fetch the groups this phone user sees from Kaizala", on demand or periodic."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

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

    def __str__(self):
        return f"sync of {self.phone_user} at {self.started_at:%Y-%m-%d %H:%M} ({self.state})"
