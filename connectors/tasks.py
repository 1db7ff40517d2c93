"""Celery tasks: thin wrappers; the rules are in services. Arguments are ids only, never secrets."""

import contextlib

from celery import shared_task

from connectors import services


@shared_task
def request_pin(phone_user_id: int) -> None:
    services.request_pin_run(phone_user_id)


@shared_task
def login_with_pin(phone_user_id: int) -> None:
    services.login_with_pin_run(phone_user_id)


@shared_task
def fetch_access_token(phone_user_id: int) -> None:
    services.fetch_access_token_run(phone_user_id)


@shared_task
def refresh_access_token(phone_user_id: int) -> None:
    # A rejected refresh token marks the phone user reauth_required; the pages say so. A deactivated
    # connector is refused on purpose.
    with contextlib.suppress(services.ReauthRequired, services.ConnectorInactive):
        services.phone_user_refresh_access_token(phone_user_id=phone_user_id)


@shared_task
def refresh_expiring_tokens() -> int:
    return services.tokens_refresh_expiring()


@shared_task
def sweep() -> int:
    return services.phone_users_sweep()


@shared_task
def trim_api_calls() -> int:
    return services.api_calls_trim()
