from celery import shared_task

from audit import services


@shared_task
def trim_audit_records() -> int:
    return services.audit_trim()
