"""Celery tasks: thin wrappers around the `_run` services; ids only as arguments.

A transient Kaizala failure (429, 5xx, no connection) raises `TryAgain`: the task retries after the
delay it names; on the last attempt the service records the failure instead.
"""

from celery import shared_task

from groups import membership, services
from groups.kaizala_calls import run_with_retries


@shared_task(bind=True)
def create_group(self, group_id: int) -> None:
    run_with_retries(self, services.group_create_run, group_id)


@shared_task(bind=True)
def sync_groups(self, sync_id: int) -> None:
    run_with_retries(self, services.groups_sync_run, sync_id)


@shared_task
def sync_all_groups() -> int:
    return services.groups_sync_all()


@shared_task
def sweep() -> dict:
    return services.groups_sweep()


@shared_task(bind=True)
def refresh_group(self, group_id: int) -> None:
    run_with_retries(self, services.group_refresh_run, group_id)


@shared_task(bind=True)
def add_members(self, group_id: int) -> None:
    run_with_retries(self, membership.members_add_run, group_id)


@shared_task(bind=True)
def remove_member(self, member_id: int) -> None:
    run_with_retries(self, membership.member_remove_run, member_id)


@shared_task(bind=True)
def set_member_role(self, member_id: int) -> None:
    run_with_retries(self, membership.member_set_role_run, member_id)


@shared_task(bind=True)
def add_subscribers(self, group_id: int) -> None:
    run_with_retries(self, membership.subscribers_add_run, group_id)


@shared_task(bind=True)
def remove_subscribers(self, group_id: int) -> None:
    run_with_retries(self, membership.subscribers_remove_run, group_id)
