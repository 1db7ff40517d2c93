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
