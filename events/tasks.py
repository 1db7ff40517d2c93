"""Celery tasks: thin wrappers around events.services; ids only as arguments."""

from celery import shared_task

from events import services


@shared_task
def process_event(event_id: int) -> bool:
    return services.event_process(event_id)


@shared_task
def sweep() -> int:
    return services.events_sweep()
