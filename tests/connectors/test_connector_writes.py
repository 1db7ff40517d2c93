"""The connector form and the writes behind it: the auth URL's default (12.7), saving only what changed and
compare-and-set on the phone-user state (12.20), sandbox mode only when it is given (12.17), and the
sandbox's failures said in a sentence (13.10)."""

import os
import socket
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM
from connectors import services
from connectors.models import Connector, PhoneUser
from tests.fixtures.sandbox import ROOT

pytestmark = pytest.mark.django_db
State = PhoneUser.State


def test_a_new_connector_form_starts_with_the_auth_url(client_for, settings):
    settings.KAIZALA_AUTH_URL = "https://api.kaiza.la"
    page = client_for(Role.ADMIN).get(reverse("connectors:create")).content.decode()
    assert 'name="auth_base_url" value="https://api.kaiza.la"' in page


def test_saving_a_connector_keeps_the_status_a_worker_has_just_set():
    connector = Connector.objects.create(name="Acme", application_id="app-1", application_secret="s")
    stale = Connector.objects.get(pk=connector.pk)  # what the edit page read
    Connector.objects.filter(pk=connector.pk).update(status=Connector.Status.VERIFIED, status_detail="ok")
    stale.name = "Renamed"
    services.connector_save(actor=SYSTEM, connector=stale, changed={"name"})
    connector.refresh_from_db()
    assert (connector.name, connector.status, connector.status_detail) == ("Renamed", "verified", "ok")


def test_new_credentials_make_the_status_unknown_again():
    connector = Connector.objects.create(name="Acme", application_id="app-1", application_secret="s",
                                         status=Connector.Status.VERIFIED)
    connector.application_secret = "another"
    services.connector_save(actor=SYSTEM, connector=connector, changed={"application_secret"})
    connector.refresh_from_db()
    assert connector.status == Connector.Status.UNVERIFIED and connector.application_secret == "another"


def test_onboarding_does_not_overwrite_a_state_a_worker_moved_meanwhile(sandbox, connector):
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812345678",
                                          state=State.LOGIN_FAILED)
    read = PhoneUser.objects.get(pk=phone_user.pk)  # what the service read ...
    # ... before a worker moved the row on (a fresh login in progress).
    PhoneUser.objects.filter(pk=phone_user.pk).update(state=State.VERIFYING, state_changed_at=timezone.now())
    with mock.patch.object(PhoneUser.objects, "get_or_create", return_value=(read, False)), \
            pytest.raises(services.OnboardingError, match="changed meanwhile"):
        services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=phone_user.mobile_number)
    phone_user.refresh_from_db()
    assert phone_user.state == State.VERIFYING


def test_a_portal_token_being_checked_is_not_replaced_under_its_worker(sandbox, connector):
    phone_user = PhoneUser.objects.create(connector=connector, mobile_number="+919812345678", token_kind="tenant",
                                          state=State.VERIFYING, refresh_token="first-token")
    with pytest.raises(services.OnboardingError, match="being checked"):
        services.phone_user_add_portal_token(actor=SYSTEM, connector=connector, token_kind="tenant",
                                             mobile_number="+919812345678", refresh_token="second-token")
    phone_user.refresh_from_db()
    assert phone_user.refresh_token == "first-token"
    # Once that check has ended, a new token replaces it.
    PhoneUser.objects.filter(pk=phone_user.pk).update(state=State.LOGIN_FAILED,
                                                      state_changed_at=timezone.now() - timedelta(seconds=1))
    services.phone_user_add_portal_token(actor=SYSTEM, connector=connector, token_kind="tenant",
                                         mobile_number="+919812345678",
                                         refresh_token="second-token")
    phone_user.refresh_from_db()
    assert phone_user.refresh_token == "second-token" and phone_user.state == State.VERIFYING


@pytest.mark.parametrize(("model", "column"), [(Connector, "status"), (PhoneUser, "state"),
                                               (PhoneUser, "token_kind")])
def test_each_state_column_holds_only_its_states(model, column):
    connector = Connector.objects.create(name="Acme", application_id="app-1", application_secret="s")
    row = connector if model is Connector else PhoneUser.objects.create(connector=connector, mobile_number="+91981")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{column: "bogus"})


def test_a_local_kaizala_that_is_not_the_sandbox_is_not_sandbox_mode():
    env = {k: v for k, v in os.environ.items() if k != "KAIZALA_SANDBOX_URL"}
    env.update(KAIZALA_AUTH_URL="http://127.0.0.1:9990", DJANGO_SETTINGS_MODULE="kaizala_console.settings")
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(repr(settings.KAIZALA_SANDBOX_URL))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert out.strip() == "''"


def test_without_the_sandbox_setting_there_is_no_create_in_sandbox(client_for, settings):
    settings.KAIZALA_AUTH_URL = "http://127.0.0.1:8700"
    settings.KAIZALA_SANDBOX_URL = ""
    client = client_for(Role.ADMIN)
    assert "Create in sandbox" not in client.get(reverse("connectors:create")).content.decode()
    response = client.post(reverse("connectors:create_in_sandbox"), follow=True)
    assert "not talking to a sandbox" in response.content.decode()
    assert not Connector.objects.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_create_in_sandbox_with_the_sandbox_down_says_so_in_a_sentence(client_for, settings):
    port = _closed_port()
    settings.KAIZALA_SANDBOX_URL = f"http://127.0.0.1:{port}"
    response = client_for(Role.ADMIN).post(reverse("connectors:create_in_sandbox"), {"name": "x"}, follow=True)
    [said] = [str(m) for m in response.context["messages"]]
    assert said == ("The Kaizala sandbox could not be reached; is it running (python3 dev.py start)? "
                    "Try again in a moment.")
    for leak in (str(port), "HTTPConnectionPool", "Max retries", "Errno"):
        assert leak not in response.content.decode().split("alert-danger")[1].split("</div>")[0]
    assert not Connector.objects.exists()


def test_create_in_sandbox_registers_it_at_the_sandbox_url(client_for, settings, sandbox):
    settings.KAIZALA_SANDBOX_URL = sandbox.base_url
    response = client_for(Role.ADMIN).post(reverse("connectors:create_in_sandbox"), {"name": "Demo"})
    assert response.status_code == 302
    connector = Connector.objects.get()
    assert connector.auth_base_url == sandbox.base_url
    assert any(c["applicationId"] == connector.application_id for c in sandbox.http.get(
        f"{sandbox.base_url}/_sandbox/connectors", timeout=10).json()["connectors"])


def test_an_html_error_page_from_the_auth_host_is_said_in_a_sentence(settings, django_capture_on_commit_callbacks):
    from tests.connectors.test_allowed_urls import http_host

    page = b"<html><body><h1>403 Forbidden</h1><p>nginx at 10.0.0.7</p></body></html>"
    with http_host(lambda handler: (403, {"Content-Type": "text/html"}, page)) as (proxy, _):
        settings.KAIZALA_AUTH_URL = proxy
        connector = Connector.objects.create(name="A", application_id="app-a", application_secret="s",
                                             auth_base_url=proxy)
        with django_capture_on_commit_callbacks(execute=True):
            phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector,
                                                              mobile_number="+919812345678")
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert phone_user.last_error == (
        "Kaizala refused the call (403) with a page that is not its API (is the auth URL right?).")
