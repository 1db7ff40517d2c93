"""The sandbox's control API (not Kaizala's): used by "Create in sandbox" in sandbox mode."""

import requests
from django.conf import settings


class SandboxUnavailable(Exception):
    pass


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
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SandboxUnavailable(f"The sandbox at {settings.KAIZALA_SANDBOX_URL} did not answer: {exc}") from None


def phone_page_url(mobile_number: str) -> str:
    return f"{settings.KAIZALA_SANDBOX_URL.rstrip('/')}/_sandbox/?mobileNumber={requests.utils.quote(mobile_number)}"
