from django.conf import settings
from django.db import models


class Profile(models.Model):
    """Per-user preferences. Times in forms and pages are read and shown in `time_zone`."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(max_length=64, blank=True, help_text="Empty: the console's default time zone.")

    def __str__(self):
        return f"profile of {self.user}"
