"""The connector, phone-user and API-call pages: roles, bad input, and the secrets never shown."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import ApiCall, Connector, PhoneUser
from tests.fixtures.celery_worker import wait_for
from tests.form_token import form_token

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Acme", "description": "", "application_id": "app-123", "application_secret": "very-secret-value-1",
    "permissions": ["group_info", "text_message"], "auth_base_url": "http://127.0.0.1:8700",
}


def test_an_admin_registers_a_connector_and_the_secret_is_never_shown(client_for):
    client = client_for(Role.ADMIN)
    response = client.post(reverse("connectors:create"), FORM, follow=True)
    assert response.status_code == 200
    connector = Connector.objects.get(application_id="app-123")
    assert connector.application_secret == "very-secret-value-1"
    assert connector.permissions == ["group_info", "text_message"]
    for url in (reverse("connectors:list"), reverse("connectors:detail", args=[connector.pk]),
                reverse("connectors:edit", args=[connector.pk])):
        assert b"very-secret-value-1" not in client.get(url).content
    assert b"very-secret-value-1" not in response.content


def test_an_empty_secret_on_edit_keeps_the_stored_one(client_for):
    client = client_for(Role.ADMIN)
    client.post(reverse("connectors:create"), FORM)
    connector = Connector.objects.get()
    response = client.post(reverse("connectors:edit", args=[connector.pk]), {**FORM, "name": "Renamed",
                                                                             "application_secret": ""})
    assert response.status_code == 302
    connector.refresh_from_db()
    assert connector.name == "Renamed"
    assert connector.application_secret == "very-secret-value-1"


def test_a_new_connector_needs_a_secret_and_a_unique_id(client_for):
    client = client_for(Role.ADMIN)
    response = client.post(reverse("connectors:create"), {**FORM, "application_secret": ""})
    assert b"This field is required" in response.content
    client.post(reverse("connectors:create"), FORM)
    response = client.post(reverse("connectors:create"), FORM)
    assert b"already exists" in response.content
    assert Connector.objects.count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_below_admin_cannot_register_edit_or_onboard_by_url(client_for, role):
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    client = client_for(role)
    assert client.post(reverse("connectors:create"), FORM).status_code == 403
    assert client.get(reverse("connectors:edit", args=[connector.pk])).status_code == 403
    assert client.post(reverse("connectors:deactivate", args=[connector.pk])).status_code == 403
    assert client.post(reverse("connectors:onboard"), {"connector": connector.pk,
                                                       "mobile_number": "+919812345678"}).status_code == 403
    assert Connector.objects.count() == 1 and PhoneUser.objects.count() == 0
    assert client.get(reverse("connectors:list")).status_code == 200


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("hello", "letters"),
        ("12", "too short"),
        ("+91981234567890123", "too long"),
        ("+1555", "too short"),
        ("", "This field is required"),
    ],
)
def test_a_bad_mobile_number_is_refused_in_the_page(client_for, number, message):
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    client = client_for(Role.ADMIN)
    response = client.post(reverse("connectors:onboard"), {"connector": connector.pk, "mobile_number": number,
                                                           **form_token(client, reverse("connectors:onboard"))})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert PhoneUser.objects.count() == 0


@pytest.mark.parametrize(("pin", "message"), [("12ab", "digits only"), ("12", "4 to 8 digits"), ("", "required")])
def test_a_malformed_pin_is_refused_and_changes_nothing(client_for, pin, message):
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812345678",
                                          state=PhoneUser.State.PIN_REQUESTED, pin_sent_at=timezone.now())
    client = client_for(Role.ADMIN)
    response = client.post(reverse("connectors:submit_pin", args=[phone_user.pk]), {"pin": pin})
    assert response.status_code == 400
    assert message in response.content.decode()
    phone_user.refresh_from_db()
    assert phone_user.state == PhoneUser.State.PIN_REQUESTED and phone_user.pin == ""


def test_the_call_log_pages_list_and_show_calls(client_for):
    call = ApiCall.objects.create(method="POST", url="http://k/v1/generatePin", status=200, duration_ms=12,
                                  request_body='{"mobileNumber": "+919812345678"}', response_body="{}")
    ApiCall.objects.create(method="GET", url="http://k/v1/accessToken", status=401, error_class="InvalidToken")
    client = client_for(Role.VIEWER)
    listing = client.get(reverse("connectors:calls"), {"status": "4xx"}).content.decode()
    assert "accessToken" in listing and "generatePin" not in listing
    detail = client.get(reverse("connectors:call", args=[call.pk])).content.decode()
    assert "+919812345678" in detail


@pytest.mark.integration
def test_onboarding_through_the_pages_with_a_real_worker(client_for, sandbox, celery_worker):
    created = sandbox.create_connector(name="Worker test")
    client = client_for(Role.ADMIN)
    client.post(reverse("connectors:create"), {**FORM, "application_id": created["applicationId"],
                                               "application_secret": created["applicationSecret"],
                                               "auth_base_url": sandbox.base_url})
    connector = Connector.objects.get(application_id=created["applicationId"])
    response = client.post(reverse("connectors:onboard"), {"connector": connector.pk,
                                                           "mobile_number": "98123 45678",
                                                           **form_token(client, reverse("connectors:onboard"))})
    phone_user = PhoneUser.objects.get(mobile_number="+919812345678")
    assert response["Location"] == reverse("connectors:phone_user", args=[phone_user.pk])
    wait_for(lambda: PhoneUser.objects.filter(pk=phone_user.pk, pin_sent_at__isnull=False).exists(),
             message="the PIN to be sent")
    status = client.get(reverse("connectors:phone_user_status", args=[phone_user.pk])).content.decode()
    assert "Type it here" in status
    pin = sandbox.latest_pin("+919812345678")
    client.post(reverse("connectors:submit_pin", args=[phone_user.pk]), {"pin": pin})
    wait_for(lambda: PhoneUser.objects.filter(pk=phone_user.pk, state=PhoneUser.State.ACTIVE).exists(),
             message="the phone user to become active")
    phone_user.refresh_from_db()
    pages = [client.get(url).content.decode() for url in (
        reverse("connectors:phone_user", args=[phone_user.pk]), reverse("connectors:phone_users"),
        reverse("connectors:calls"), *[reverse("connectors:call", args=[c.pk]) for c in ApiCall.objects.all()],
    )]
    for secret in (created["applicationSecret"], phone_user.refresh_token, phone_user.access_token):
        assert all(secret not in page for page in pages)
    assert "Active" in pages[0]
