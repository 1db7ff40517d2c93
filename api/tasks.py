"""Celery tasks for the API: thin wrappers over services."""

from celery import shared_task

from api import callbacks, services


@shared_task(ignore_result=True)
def trim_idempotency_records() -> int:
    return services.idempotency_records_trim()


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    return callbacks.delivery_send_run(delivery_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> dict:
    return callbacks.deliveries_sweep()
