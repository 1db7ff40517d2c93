"""Every error class, produced by the sandbox's fault injection and by real auth failures."""

import json
import logging

import pytest

from kaizala import (
    AmbiguousError,
    AuthClient,
    ConnectError,
    EndpointMoved,
    InvalidToken,
    KaizalaClient,
    KaizalaError,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServerError,
    Timeouts,
    call_with_refresh,
)

from .sandbox_helpers import FAST, onboard

ADMIN = "+911100000001"
MESSAGES = "*/v1/groups/*/messages"


@pytest.fixture
def user(sandbox, recorder):
    return onboard(sandbox, ADMIN, recorder=recorder)


@pytest.fixture
def group_id(user):
    return user.client.create_group("Ops", "Welcome").group_id


@pytest.mark.parametrize(
    ("fault", "expected", "status"),
    [
        ({"status": 401}, InvalidToken, 401),
        ({"status": 500}, ServerError, 500),
        ({"status": 502}, ServerError, 502),
        ({"status": 503}, ServerError, 503),
        ({"status": 404}, NotFound, 404),
        ({"malformed": True}, MalformedResponse, 200),
        ({"drop": True}, AmbiguousError, None),
    ],
)
def test_injected_faults(sandbox, user, group_id, recorder, fault, expected, status):
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, **fault)
    with pytest.raises(expected) as caught:
        user.client.send_message(group_id, "hello")
    assert caught.value.status == status
    assert recorder.last.error == expected.__name__
    assert recorder.last.status == status
    # The fault was one-shot: the same call now goes through.
    assert user.client.send_message(group_id, "hello").reference_id


def test_malformed_body_keeps_its_first_bytes(sandbox, user, group_id):
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, malformed=True)
    with pytest.raises(MalformedResponse) as caught:
        user.client.send_message(group_id, "hello")
    assert caught.value.body_start
    with pytest.raises(ValueError):
        json.loads(caught.value.body_start)


def test_read_timeout_is_ambiguous(sandbox, user, group_id):
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, timeout=2)
    client = KaizalaClient(user.token.endpoint_url, user.token.access_token, timeouts=Timeouts(connect=1, read=0.3))
    with pytest.raises(AmbiguousError) as caught:
        client.send_message(group_id, "hello")
    assert caught.value.maybe_applied is True and caught.value.status is None


def test_429_carries_retry_after(sandbox, user, group_id):
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, status=429, retryAfter=7)
    with pytest.raises(RateLimited) as caught:
        user.client.send_message(group_id, "hello")
    assert caught.value.retry_after == 7
    assert caught.value.error_code == "TooManyRequests"
    assert caught.value.from_limiter is False


def test_endpoint_moved_then_retry_on_the_new_endpoint(sandbox, user, group_id):
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, status=308)
    with pytest.raises(EndpointMoved) as caught:
        user.client.send_message(group_id, "hello")
    moved = caught.value
    assert moved.endpoint_url != user.token.endpoint_url
    assert moved.endpoint_url.startswith(sandbox.base_url)
    assert moved.error_code == "EndpointMoved"
    result = user.client.with_credentials(endpoint_url=moved.endpoint_url).send_message(group_id, "hello")
    assert [m["referenceId"] for m in sandbox.messages(group_id)] == [result.reference_id]


def test_call_with_refresh_retries_once_after_a_401(sandbox, user, group_id):
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, status=401)
    refreshed = []

    def refresh(error: KaizalaError) -> KaizalaClient:
        refreshed.append(type(error).__name__)
        token = user.auth.access_token(user.login.refresh_token)
        return user.client.with_credentials(endpoint_url=token.endpoint_url, access_token=token.access_token)

    result = call_with_refresh(lambda c: c.send_message(group_id, "hello"), user.client, refresh)
    assert refreshed == ["InvalidToken"]
    assert [m["referenceId"] for m in sandbox.messages(group_id)] == [result.reference_id]

    # Only once: a second 401 after the refresh reaches the caller.
    sandbox.inject_fault(method="POST", path=MESSAGES, count=2, status=401)
    with pytest.raises(InvalidToken):
        call_with_refresh(lambda c: c.send_message(group_id, "again"), user.client, refresh)
    assert len(refreshed) == 2


def test_auth_failures(sandbox, user):
    wrong = AuthClient(
        sandbox.base_url,
        application_id=sandbox.demo_connector["applicationId"],
        application_secret="not-the-secret",
        timeouts=FAST,
    )
    with pytest.raises(InvalidToken) as caught:
        wrong.access_token(user.login.refresh_token)
    assert caught.value.error_code == "Unauthenticated"
    assert "applicationId and secret" in caught.value.message

    user.auth.generate_pin("+911100000005")
    pin = sandbox.latest_pin("+911100000005")
    wrong_pin = str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))
    with pytest.raises(InvalidToken) as caught:
        user.auth.login_with_pin("+911100000005", wrong_pin)
    assert caught.value.status == 401

    sandbox.revoke_token(user.login.refresh_token)
    with pytest.raises(InvalidToken):
        user.auth.access_token(user.login.refresh_token)


def test_expired_access_token_is_invalid_token(sandbox, user):
    sandbox.advance_clock(25 * 3600)
    with pytest.raises(InvalidToken) as caught:
        user.client.list_groups()
    assert caught.value.status == 401


def test_connect_error_when_the_endpoint_is_down(user):
    dead = user.client.with_credentials(endpoint_url="http://127.0.0.1:9/kms/")
    with pytest.raises(ConnectError):
        dead.list_groups()


def test_nothing_secret_is_recorded_or_logged(sandbox, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    user = onboard(sandbox, ADMIN, recorder=recorder)
    group_id = user.client.create_group("Ops", "Welcome").group_id
    user.client.send_message(group_id, "hello")
    sandbox.inject_fault(method="POST", path=MESSAGES, count=1, status=401)
    with pytest.raises(InvalidToken) as caught:
        user.client.send_message(group_id, "hello")
    logging.getLogger("test").debug("failed: %s %r", caught.value, vars(caught.value))
    secrets = [
        sandbox.demo_connector["applicationSecret"],
        user.login.refresh_token,
        user.token.access_token,
        user.pin,
    ]
    recorded = caplog.text + "".join(repr(r) for r in recorder.records)
    assert len(recorder.records) == 6
    for secret in secrets:
        assert secret not in recorded
