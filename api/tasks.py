"""Celery tasks for the API: thin wrappers over services."""

from celery import shared_task

from api import services


@shared_task(ignore_result=True)
def trim_idempotency_records() -> int:
    return services.idempotency_records_trim()
