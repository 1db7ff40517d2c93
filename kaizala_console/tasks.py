"""Celery tasks of the console itself: thin wrappers."""

from celery import shared_task

from kaizala_console import submit_once


@shared_task
def trim_form_submissions() -> int:
    return submit_once.form_submissions_trim()
