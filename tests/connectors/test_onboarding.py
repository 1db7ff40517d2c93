"""The PIN login against the sandbox over real HTTP (tasks run eagerly in the test process)."""

import socket
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from audit.actor import SYSTEM
from connectors import services
from connectors.models import ApiCall, Connector, PhoneUser

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
State = PhoneUser.State
MOBILE = "+919812345678"


def test_the_pin_login_makes_the_phone_user_active(connector, onboard, sandbox):
    phone_user = onboard(connector, MOBILE)
    assert phone_user.state == State.ACTIVE, phone_user.last_error
    assert phone_user.endpoint_url.startswith(sandbox.base_url)
    assert phone_user.endpoint_url.rstrip("/") != sandbox.base_url.rstrip("/")
    assert phone_user.access_token and phone_user.refresh_token
    assert phone_user.access_token_expires_at > timezone.now() + timedelta(hours=23)
    assert phone_user.refresh_token_expires_at > timezone.now() + timedelta(days=360)
    assert phone_user.pin == ""  # used once, then gone
    connector.refresh_from_db()
    assert connector.status == Connector.Status.VERIFIED
    paths = [c.url.split(sandbox.base_url)[-1] for c in ApiCall.objects.order_by("id")]
    assert paths == ["/v1/generatePin", "/v1/loginWithPinAndApplicationId", "/v1/accessToken"]


def test_the_call_log_holds_no_secret(connector, onboard, sandbox):
    phone_user = onboard(connector, MOBILE)
    secrets = [connector.application_secret, phone_user.refresh_token, phone_user.access_token]
    pin = sandbox.latest_pin(MOBILE)
    rows = list(ApiCall.objects.values_list("url", "request_body", "response_body"))
    assert len(rows) == 3
    for row in rows:
        text = " ".join(str(v) for v in row)
        for secret in secrets:
            assert secret not in text
        assert f'"{pin}"' not in text and f": {pin}" not in text


@pytest.mark.parametrize(
    ("pin", "message"),
    [("0000", "PIN"), ("12", "PIN")],
)
def test_a_wrong_pin_goes_back_to_the_pin_step_with_kaizalas_reason(
    connector, sandbox, django_capture_on_commit_callbacks, pin, message
):
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    if pin == sandbox.latest_pin(MOBILE):
        pin = "9999"
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=pin)
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert message.lower() in phone_user.last_error.lower()
    assert not phone_user.refresh_token
    # The wizard can be resumed: the right PIN still works.
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=sandbox.latest_pin(MOBILE))
    phone_user.refresh_from_db()
    assert phone_user.state == State.ACTIVE, phone_user.last_error


def test_an_expired_pin_is_refused(connector, sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    sandbox.advance_clock(24 * 3600)
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=sandbox.latest_pin(MOBILE))
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert "expired" in phone_user.last_error.lower()


def test_too_many_wrong_pins_burn_the_pin(connector, sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    right = sandbox.latest_pin(MOBILE)
    wrong = "1111" if right != "1111" else "2222"
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=wrong)
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=right)
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert not phone_user.refresh_token


def test_a_wrong_secret_rejects_the_connector(connector, sandbox, django_capture_on_commit_callbacks):
    Connector.objects.filter(pk=connector.pk).update(application_secret="not-the-secret")
    connector.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=sandbox.latest_pin(MOBILE))
    phone_user.refresh_from_db()
    connector.refresh_from_db()
    assert phone_user.state == State.LOGIN_FAILED
    assert connector.status == Connector.Status.REJECTED
    assert phone_user.last_error


def test_an_unknown_application_id_fails_at_the_pin_request(sandbox, db, django_capture_on_commit_callbacks):
    connector = Connector.objects.create(
        name="ghost", application_id="00000000-dead-beef-0000-000000000000", application_secret="x",
        auth_base_url=sandbox.base_url,
    )
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert phone_user.last_error.startswith("Kaizala said")


def test_kaizala_down_is_said_plainly_and_the_wizard_can_be_resumed(
    connector, sandbox, settings, django_capture_on_commit_callbacks
):
    down = f"http://127.0.0.1:{closed_port()}"
    settings.KAIZALA_AUTH_URLS = [sandbox.base_url, down]
    Connector.objects.filter(pk=connector.pk).update(auth_base_url=down)
    connector.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert "could not be reached" in phone_user.last_error
    Connector.objects.filter(pk=connector.pk).update(auth_base_url=sandbox.base_url)
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_resend_pin(actor=SYSTEM, phone_user=phone_user)
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_REQUESTED and phone_user.pin_sent_at


def test_resend_has_a_cooldown(connector, sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    with pytest.raises(services.OnboardingError, match="seconds"):
        services.phone_user_resend_pin(actor=SYSTEM, phone_user=phone_user)
    assert len(sandbox.pins(MOBILE)) == 1


def create_group_as(sandbox, mobile: str, name: str) -> str:
    user = sandbox.onboard_user(mobile)
    response = requests.post(
        f"{user['endpointUrl'].rstrip('/')}/v1/groups", headers={"accessToken": user["accessToken"]},
        json={"name": name, "welcomeMessage": "hi"}, timeout=5,
    )
    response.raise_for_status()
    return response.json()["groupId"]


@pytest.mark.parametrize("kind", [PhoneUser.TokenKind.TENANT, PhoneUser.TokenKind.GROUP])
def test_a_portal_token_is_validated_by_fetching_an_access_token(
    connector, sandbox, django_capture_on_commit_callbacks, kind
):
    body = {"applicationId": connector.application_id, "kind": kind, "mobileNumber": MOBILE}
    group_id = ""
    if kind == PhoneUser.TokenKind.GROUP:
        group_id = create_group_as(sandbox, MOBILE, "Portal group")
        body["groupId"] = group_id
    issued = sandbox.issue_token(**body)
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_add_portal_token(actor=SYSTEM,
            connector=connector, token_kind=kind, mobile_number=MOBILE, refresh_token=issued["refreshToken"],
            group_id=group_id,
        )
    phone_user.refresh_from_db()
    assert phone_user.state == State.ACTIVE, phone_user.last_error
    assert phone_user.token_kind == kind
    assert phone_user.endpoint_url


def test_a_bogus_portal_token_fails_with_a_message(connector, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_add_portal_token(actor=SYSTEM,
            connector=connector, token_kind=PhoneUser.TokenKind.TENANT, mobile_number=MOBILE,
            refresh_token="not-a-token",
        )
    phone_user.refresh_from_db()
    assert phone_user.state == State.LOGIN_FAILED
    assert phone_user.last_error
