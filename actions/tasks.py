"""Celery tasks: thin wrappers around actions.services; ids only as arguments.

A transient Kaizala failure raises `TryAgain` (groups.kaizala_calls): the task retries after its delay.
"""

from celery import shared_task

from actions import services
from groups.kaizala_calls import run_with_retries


@shared_task(bind=True)
def refresh_action(self, message_id: int) -> None:
    run_with_retries(self, services.action_refresh_run, message_id)


@shared_task(bind=True)
def remind_action(self, message_id: int) -> None:
    run_with_retries(self, services.action_remind_run, message_id)


@shared_task
def fire_reminders() -> int:
    return services.reminders_fire()


@shared_task
def sweep() -> int:
    return services.action_work_sweep()
