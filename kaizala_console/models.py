"""Console-wide records that belong to no app."""

from django.conf import settings
from django.db import models


class FormSubmission(models.Model):
    """A create form's one-time token, claimed by the submit that created something (see submit_once.py).

    The unique token is the guard: a second submit of the same form cannot insert it again, so it cannot
    create again, however close together the two arrive.
    """

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    result_url = models.CharField(max_length=500)

    def __str__(self):
        return f"{self.token} → {self.result_url}"


class Heartbeat(models.Model):
    """The last sign of life of a kind of process: "beat" (the scheduler published its tasks) and "worker"
    (a Celery worker answered the beat's or a readiness check's ping). One row per name; the
    database is the truth, a Redis copy is what pages read (kaizala_console/health.py)."""

    name = models.CharField(max_length=20, unique=True)
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
