"""Onboarding a phone user through the client itself, for the tests that run against the sandbox."""

from dataclasses import dataclass

from kaizala import AccessToken, AuthClient, KaizalaClient, LoginResult, Timeouts

FAST = Timeouts(connect=2.0, read=5.0)


@dataclass
class Onboarded:
    auth: AuthClient
    login: LoginResult
    token: AccessToken
    client: KaizalaClient
    pin: str


def onboard(sandbox, mobile: str, *, connector=None, recorder=None, **client_kwargs) -> Onboarded:
    connector = connector or sandbox.demo_connector
    auth = AuthClient(
        sandbox.base_url,
        application_id=connector["applicationId"],
        application_secret=connector["applicationSecret"],
        recorder=recorder,
        timeouts=FAST,
    )
    auth.generate_pin(mobile)
    pin = sandbox.latest_pin(mobile)
    login = auth.login_with_pin(mobile, pin)
    token = auth.access_token(login.refresh_token)
    client = KaizalaClient(token.endpoint_url, token.access_token, recorder=recorder, timeouts=FAST, **client_kwargs)
    return Onboarded(auth, login, token, client, pin)


def tenant_client(sandbox, mobile: str, **client_kwargs) -> KaizalaClient:
    """A client on a tenant-admin token (needed for managed public groups)."""
    issued = sandbox.issue_token(
        applicationId=sandbox.demo_connector["applicationId"], kind="tenant", mobileNumber=mobile
    )
    auth = AuthClient(
        sandbox.base_url,
        application_id=sandbox.demo_connector["applicationId"],
        application_secret=sandbox.demo_connector["applicationSecret"],
        timeouts=FAST,
    )
    token = auth.access_token(issued["refreshToken"])
    return KaizalaClient(token.endpoint_url, token.access_token, timeouts=FAST, **client_kwargs)
