"""Celery tasks of the console itself: thin wrappers."""

from celery import shared_task

from kaizala_console import health, submit_once


@shared_task
def trim_form_submissions() -> int:
    return submit_once.form_submissions_trim()


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Run by whichever worker takes it: a worker is alive (the banner and dashboard read it)."""
    health.heartbeat_record(name=health.WORKER)
