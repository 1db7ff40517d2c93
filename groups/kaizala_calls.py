"""One Kaizala call made by a group task, and what its failure means: try again later, or give up
with one sentence for the page. Only worker code uses this module."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import kaizala
from connectors.kaizala_access import call_as
from connectors.models import Connector, PhoneUser
from connectors.services import ConnectorInactive, ReauthRequired, describe_error

T = TypeVar("T")

_CONNECTOR_INACTIVE = ("The connector of phone user {mobile} is deactivated: nothing is changed at Kaizala through "
                       "it. Reactivate it first.")
# Seconds before each retry of a transient failure; after the last, the work is marked failed.
RETRY_DELAYS = (2, 5, 15)


class TryAgain(Exception):
    """A transient failure (429, 5xx, no connection): the task retries after `delay` seconds."""

    def __init__(self, message: str, delay: float):
        super().__init__(message)
        self.message = message
        self.delay = delay


def run_with_retries(task, run, pk: int) -> None:
    """Run a `_run` service from a bound Celery task; a TryAgain retries the task after its delay (the
    service records the failure itself on the last attempt)."""
    try:
        run(pk, attempt=task.request.retries)
    except TryAgain as again:
        raise task.retry(countdown=again.delay, max_retries=len(RETRY_DELAYS)) from None


class CallFailed(Exception):
    """A failure that another try will not mend; `message` is for the page, `error` what Kaizala said."""

    def __init__(self, message: str, error: kaizala.KaizalaError | None = None):
        super().__init__(message)
        self.message = message
        self.error = error


def run(phone_user: PhoneUser, operation: Callable[[kaizala.KaizalaClient], T], *, attempt: int) -> T:
    """`call_as` (401 → refresh and retry once, 308 → follow), with failures sorted for the task."""
    if phone_user.state != PhoneUser.State.ACTIVE:
        raise CallFailed(
            f"Phone user {phone_user.mobile_number} is {phone_user.get_state_display().lower()}; "
            "onboard it again first."
        )
    # Read afresh: nothing is changed at Kaizala through a deactivated connector.
    if not Connector.objects.filter(pk=phone_user.connector_id, is_active=True).exists():
        raise CallFailed(_CONNECTOR_INACTIVE.format(mobile=phone_user.mobile_number))
    try:
        return call_as(phone_user, operation)
    except ConnectorInactive:  # deactivated meanwhile (a token refresh refuses it)
        raise CallFailed(_CONNECTOR_INACTIVE.format(mobile=phone_user.mobile_number)) from None
    except ReauthRequired as exc:
        raise CallFailed(
            f"Kaizala no longer accepts the token of phone user {phone_user.mobile_number} ({exc}); "
            "onboard it again."
        ) from None
    except kaizala.KaizalaError as error:
        message = describe_error(error)
        if error.maybe_applied:
            # Sending it again could do it twice (two groups, say): a person looks first.
            raise CallFailed(
                f"{message} Kaizala may have done it anyway: refresh from Kaizala to see.", error
            ) from None
        if error.retryable and attempt < len(RETRY_DELAYS):
            delay = max(error.retry_after, 1) if isinstance(error, kaizala.RateLimited) else RETRY_DELAYS[attempt]
            raise TryAgain(message, delay) from None
        raise CallFailed(message, error) from None
