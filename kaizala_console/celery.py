"""The Celery app: settings come from Django settings (CELERY_*), tasks are autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaizala_console.settings")

app = Celery("kaizala_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
