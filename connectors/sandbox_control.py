"""The sandbox's control API (not Kaizala's): used by "Create in sandbox" in sandbox mode."""

import requests
from django.conf import settings


class SandboxUnavailable(Exception):
    """The sandbox's control API failed; `reason` says how ("unreachable", "refused" or "garbled").
    The exception's text is never shown: services.describe_error turns it into a sentence."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def sandbox_enabled() -> bool:
    return bool(settings.KAIZALA_SANDBOX_URL)


def create_connector(*, name: str, permissions: list[str]) -> dict:
    """Ask the sandbox to register a connector; returns {applicationId, applicationSecret}."""
    try:
        response = requests.post(
            f"{settings.KAIZALA_SANDBOX_URL.rstrip('/')}/_sandbox/connectors",
            json={"name": name, "permissions": permissions},
            timeout=(3, 10),
        )
    except requests.RequestException:
        raise SandboxUnavailable("unreachable") from None
    if response.status_code >= 400:
        raise SandboxUnavailable("refused", response.status_code)
    try:
        created = response.json()
        return {"applicationId": str(created["applicationId"]), "applicationSecret": str(created["applicationSecret"])}
    except (ValueError, KeyError, TypeError):
        raise SandboxUnavailable("garbled", response.status_code) from None


def phone_page_url(mobile_number: str) -> str:
    return f"{settings.KAIZALA_SANDBOX_URL.rstrip('/')}/_sandbox/?mobileNumber={requests.utils.quote(mobile_number)}"
