"""13.1: a connector's secret goes only to an allowed auth URL, and a worker calls only hosts Kaizala is
known to use — checked in the form and again at call time, for URLs stored before the rule.

The stranger hosts are small HTTP servers here that record what reaches them (the sandbox cannot play a
foreign host): each test proves nothing reached them."""

import json
import threading
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors import allowed_urls, kaizala_access, services
from connectors.models import ApiCall, Connector, PhoneUser

pytestmark = pytest.mark.django_db
State = PhoneUser.State


@contextmanager
def http_host(answer=lambda handler: (404, {}, {})):
    """A local HTTP server; `answer(handler)` gives (status, headers, json body). Yields (base_url, requests)."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def _any(self):
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
            status, headers, body = answer(self)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


FORM = {"name": "Acme", "description": "", "application_id": "app-1", "permissions": ["text_message"]}


def test_the_form_refuses_an_auth_url_kaizala_does_not_use(client_for, settings):
    settings.KAIZALA_AUTH_URL = "https://api.kaiza.la"
    connector = Connector.objects.create(name="Acme", application_id="app-1", application_secret="s3cret-value",
                                         auth_base_url="https://api.kaiza.la")
    client = client_for(Role.ADMIN)
    response = client.post(reverse("connectors:edit", args=[connector.pk]), {
        **FORM, "application_secret": "", "auth_base_url": "https://attacker.example.org"})
    assert response.status_code == 200
    assert "must be one Kaizala uses" in response.content.decode()
    connector.refresh_from_db()
    assert connector.auth_base_url == "https://api.kaiza.la"


def test_changing_the_auth_url_or_the_application_id_needs_the_secret_again(client_for, settings):
    settings.KAIZALA_AUTH_URLS = ["https://api.kaiza.la", "https://api2.kaiza.la"]
    connector = Connector.objects.create(name="Acme", application_id="app-1", application_secret="s3cret-value",
                                         auth_base_url="https://api.kaiza.la")
    client = client_for(Role.ADMIN)
    url = reverse("connectors:edit", args=[connector.pk])
    for change in ({"auth_base_url": "https://api2.kaiza.la"}, {"application_id": "app-2"}):
        data = {**FORM, "auth_base_url": "https://api.kaiza.la", "application_secret": "", **change}
        response = client.post(url, data)
        assert "Type the secret again" in response.content.decode(), change
        connector.refresh_from_db()
        assert (connector.application_id, connector.auth_base_url) == ("app-1", "https://api.kaiza.la")
    response = client.post(url, {**FORM, "auth_base_url": "https://api2.kaiza.la", "application_secret": "new-one"})
    assert response.status_code == 302
    connector.refresh_from_db()
    assert (connector.auth_base_url, connector.application_secret) == ("https://api2.kaiza.la", "new-one")


def _verifying(connector) -> PhoneUser:
    return PhoneUser.objects.create(connector=connector, mobile_number="+919812345678", state=State.VERIFYING,
                                    refresh_token="a-refresh-token")


def test_a_stored_auth_url_outside_the_allow_list_is_refused_at_call_time_and_gets_no_secret(sandbox):
    with http_host() as (stranger, seen):
        # Stored before the rule existed (or written past the form): the worker refuses it.
        connector = Connector.objects.create(name="Old", application_id="app-old", application_secret="s3cret-value",
                                             auth_base_url=stranger)
        phone_user = _verifying(connector)
        services.fetch_access_token_run(phone_user.pk)
        assert seen == []
    phone_user.refresh_from_db()
    assert phone_user.state == State.LOGIN_FAILED
    assert "not an allowed Kaizala auth URL" in phone_user.last_error
    assert phone_user.last_error_code == "UrlNotAllowed"
    assert not ApiCall.objects.exists()


def test_the_periodic_refresh_refuses_it_too(sandbox):
    with http_host() as (stranger, seen):
        connector = Connector.objects.create(name="Old", application_id="app-old", application_secret="s3cret-value",
                                             auth_base_url=stranger)
        phone_user = PhoneUser.objects.create(
            connector=connector, mobile_number="+919812345678", state=State.ACTIVE, refresh_token="rt",
            access_token="at", access_token_expires_at=timezone.now() + timedelta(minutes=1),
            endpoint_url=f"{sandbox.base_url}/kms/")
        with pytest.raises(services.ReauthRequired, match="not an allowed"):
            services.phone_user_refresh_access_token(phone_user_id=phone_user.pk)
        assert seen == []
    phone_user.refresh_from_db()
    assert phone_user.state == State.REAUTH_REQUIRED


def test_an_endpoint_url_on_another_host_is_not_stored(settings):
    with http_host() as (stranger, seen):
        def auth(handler):  # an allowed auth host that names a stranger as the endpoint
            return 200, {}, {"accessToken": "at-1", "endpointUrl": f"{stranger}/", "accessTokenExpiry": 0}

        with http_host(auth) as (auth_host, _):
            settings.KAIZALA_AUTH_URL = auth_host
            connector = Connector.objects.create(name="A", application_id="app-a", application_secret="s3cret",
                                                 auth_base_url=auth_host)
            phone_user = _verifying(connector)
            services.fetch_access_token_run(phone_user.pk)
        assert seen == []
    phone_user.refresh_from_db()
    assert phone_user.state == State.LOGIN_FAILED
    assert phone_user.endpoint_url == "" and phone_user.access_token == ""
    assert "not a host Kaizala is known to use" in phone_user.last_error


def test_a_308_to_another_host_is_not_followed(settings):
    with http_host() as (stranger, seen):
        def moved(handler):
            return 308, {"Location": f"{stranger}/v1/groups"}, {"errorCode": "EndpointMoved", "message": "moved"}

        with http_host(moved) as (endpoint, reached):
            settings.KAIZALA_AUTH_URL = endpoint  # its host is then an allowed endpoint host
            connector = Connector.objects.create(name="A", application_id="app-a", application_secret="s3cret",
                                                 auth_base_url=endpoint)
            phone_user = PhoneUser.objects.create(
                connector=connector, mobile_number="+919812345678", state=State.ACTIVE, refresh_token="rt",
                access_token="at", access_token_expires_at=timezone.now() + timedelta(hours=1),
                endpoint_url=f"{endpoint}/")
            with pytest.raises(kaizala_access.UrlNotAllowed):
                kaizala_access.call_as(phone_user, lambda client: client.list_groups())
            assert len(reached) == 1
        assert seen == []
    phone_user.refresh_from_db()
    assert phone_user.endpoint_url == f"{endpoint}/"


def test_a_stored_endpoint_on_another_host_is_refused_at_call_time(sandbox, phone_user):
    with http_host() as (stranger, seen):
        PhoneUser.objects.filter(pk=phone_user.pk).update(endpoint_url=f"{stranger}/")
        phone_user.refresh_from_db()
        with pytest.raises(kaizala_access.UrlNotAllowed, match="not a host Kaizala is known to use"):
            kaizala_access.call_as(phone_user, lambda client: client.list_groups())
        assert seen == []


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://kms2.kaiza.la/", True),
    ("https://inc-001.KaizalaMessaging.osi.office.net", True),
    ("https://kaiza.la.attacker.org/", False),
    ("https://kms.kaiza.la:8443/", False),  # a host entry without a port allows the default port only
    ("http://127.0.0.1:8700/kms/", True),  # the auth URL's own host and port
    ("http://127.0.0.1:6379/", False),
    ("http://user@127.0.0.1:8700/", False),
    ("ftp://kms.kaiza.la/", False),
    ("not a url", False),
])
def test_endpoint_hosts(settings, url, allowed):
    settings.KAIZALA_AUTH_URL = "http://127.0.0.1:8700"
    assert allowed_urls.endpoint_url_allowed(url) is allowed


def test_sandbox_mode_adds_the_sandbox_to_the_auth_urls(settings):
    settings.KAIZALA_AUTH_URL = "https://api.kaiza.la"
    settings.KAIZALA_SANDBOX_URL = ""
    assert not allowed_urls.auth_url_allowed("http://127.0.0.1:8700")
    settings.KAIZALA_SANDBOX_URL = "http://127.0.0.1:8700"
    assert allowed_urls.auth_url_allowed("http://127.0.0.1:8700/")
