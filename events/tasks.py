"""Celery tasks: thin wrappers around events.services; ids only as arguments.

A transient Kaizala failure raises `TryAgain` (groups.kaizala_calls): the task retries after its delay.
"""

from celery import shared_task

from events import services
from groups.kaizala_calls import run_with_retries


@shared_task
def process_event(event_id: int) -> bool:
    return services.event_process(event_id)


@shared_task
def process_waiting_events() -> int:
    return services.events_process_waiting()


@shared_task
def sweep() -> int:
    return services.events_sweep()


@shared_task(bind=True)
def create_webhook(self, subscription_id: int) -> None:
    run_with_retries(self, services.subscription_create_run, subscription_id)


@shared_task(bind=True)
def delete_webhook(self, subscription_id: int) -> None:
    run_with_retries(self, services.subscription_remove_run, subscription_id)


@shared_task(bind=True)
def check_webhook(self, subscription_id: int) -> None:
    run_with_retries(self, services.subscription_check_run, subscription_id)


@shared_task(bind=True)
def reenable_webhook(self, subscription_id: int) -> None:
    run_with_retries(self, services.subscription_reenable_run, subscription_id)


@shared_task
def check_subscriptions() -> dict:
    return services.subscriptions_check()
