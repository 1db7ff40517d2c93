"""Celery tasks for messaging: thin wrappers; the rules are in services. Arguments are ids only."""

from celery import shared_task

from messaging import services


@shared_task(ignore_result=True)
def dispatch() -> int:
    return services.dispatch()


@shared_task(ignore_result=True)
def send_message(message_id: int) -> str | None:
    return services.message_send_run(message_id)


@shared_task(ignore_result=True)
def send_messages(message_ids: list[int]) -> list[str | None]:
    return services.messages_send_run(message_ids)


@shared_task(ignore_result=True)
def sweep() -> dict:
    return services.messages_sweep()


@shared_task(ignore_result=True)
def trim_media() -> int:
    return services.media_orphans_delete()
