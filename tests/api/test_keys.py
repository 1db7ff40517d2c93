"""API keys: the key alone authenticates (hashed, revocable, expiring), acting with its user's role; one
error shape; per-key throttling; the keys page (created by an Admin, shown once) and the docs page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from api.models import ApiKey
from audit.actor import SYSTEM
from messaging.models import Message
from tests.api.conftest import ApiClient
from tests.form_token import form_token

pytestmark = pytest.mark.django_db
MESSAGES = "/api/v1/messages/"


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


def test_without_a_key_the_api_answers_401_json_not_the_login_page():
    error = assert_error(ApiClient(None).get(MESSAGES), 401, "not_authenticated")
    assert "Bearer" in error["message"]


def test_an_unknown_key_is_refused_with_its_own_code():
    response = ApiClient("kc_deadbeef_nope").get(MESSAGES)
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_logged_in_session_opens_nothing_in_the_api(client_for, world):
    client = client_for(Role.ADMIN)
    assert_error(client.get(MESSAGES), 401, "not_authenticated")
    response = client.post(MESSAGES, {"groups": [world["group"].pk], "text": "forged"},
                           content_type="application/json")
    assert_error(response, 401, "not_authenticated")
    assert not Message.objects.filter(text="forged").exists()


def test_a_key_is_stored_as_its_hash_with_a_visible_prefix(api_key_for):
    raw = api_key_for(Role.VIEWER)
    key = ApiKey.objects.get()
    assert raw.startswith(key.prefix + "_") and len(raw) > 40
    assert raw not in str(list(ApiKey.objects.values()))


def test_a_key_works_until_revoked_and_records_its_last_use(api_key_for):
    from api import services
    raw = api_key_for(Role.VIEWER)
    assert ApiClient(raw).get(MESSAGES).status_code == 200
    key = ApiKey.objects.get()
    assert key.last_used_at is not None
    services.api_key_revoke(api_key=key, actor=SYSTEM)
    assert_error(ApiClient(raw).get(MESSAGES), 401, "authentication_failed")


def test_an_expired_key_is_refused(api_key_for, time_machine):
    raw = api_key_for(Role.VIEWER, expires_at=timezone.now() + timedelta(hours=1))
    assert ApiClient(raw).get(MESSAGES).status_code == 200
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    assert_error(ApiClient(raw).get(MESSAGES), 401, "authentication_failed")


def test_a_key_of_a_deactivated_user_is_refused(api_key_for):
    raw = api_key_for(Role.ADMIN)
    ApiKey.objects.get().owner.__class__.objects.update(is_active=False)
    assert_error(ApiClient(raw).get(MESSAGES), 401, "authentication_failed")


def test_a_viewer_key_reads_but_cannot_write(api, world):
    viewer = api(Role.VIEWER)
    assert viewer.get(MESSAGES).status_code == 200
    error = assert_error(viewer.post(MESSAGES, {"groups": [world["group"].pk], "text": "x"}), 403,
                         "permission_denied")
    assert "Operator" in error["message"]
    assert Message.objects.count() == 1  # the world's own


def test_a_key_of_a_user_without_a_role_can_do_nothing(api):
    assert_error(api(None).get(MESSAGES), 403, "permission_denied")


def test_validation_errors_name_their_fields(api, world):
    error = assert_error(api(Role.OPERATOR).post(MESSAGES, {"groups": "x", "text": ""}), 400, "validation_error")
    assert set(error["fields"]) == {"groups", "text"}


def test_a_body_that_is_not_json_is_refused(api):
    client = api(Role.OPERATOR)
    response = client.client.post(MESSAGES, data=b"{nope", content_type="application/json", headers=client.headers)
    assert_error(response, 400, "parse_error")
    # A form body is not read (the API parses JSON only): to the API it is an empty request.
    response = client.client.post(MESSAGES, data={"text": "form"}, headers=client.headers)
    assert set(assert_error(response, 400, "validation_error")["fields"]) == {"groups", "text"}


def test_unknown_objects_urls_and_methods(api):
    client = api(Role.OPERATOR)
    assert_error(client.get("/api/v1/messages/999999/"), 404, "not_found")
    assert_error(client.get("/api/v1/messages/-5/"), 404, "not_found")  # no route: still the API's JSON
    assert_error(client.delete("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(ApiClient(None).get("/api/v1/no-such-thing/"), 401, "not_authenticated")
    assert_error(client.delete(MESSAGES), 405, "method_not_allowed")


def test_each_key_is_throttled_on_its_own_with_retry_after(api, settings):
    settings.API_KEY_REQUESTS_PER_MINUTE = 3
    first, second = api(Role.VIEWER), api(Role.VIEWER)
    assert [first.get(MESSAGES).status_code for _ in range(3)] == [200, 200, 200]
    response = first.get(MESSAGES)
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert second.get(MESSAGES).status_code == 200


def test_a_service_refusal_is_a_conflict(api, world):
    error = assert_error(api(Role.OPERATOR).post(f"/api/v1/messages/{world['message'].pk}/retry/"), 409, "conflict")
    assert "failed or unconfirmed" in error["message"]


# --- the keys page -------------------------------------------------------------------------------------


def test_an_admin_creates_a_key_that_is_shown_once(client_for, make_user):
    admin = client_for(Role.ADMIN)
    owner = make_user("hr-system", Role.OPERATOR)
    url = reverse("api:key_create")
    data = {"name": "HR system", "owner": owner.pk, **form_token(admin, url)}
    page = admin.post(url, data).content.decode()
    raw = re.search(r'<code id="api-key">([^<]+)</code>', page).group(1)
    assert ApiClient(raw).get(MESSAGES).status_code == 200
    again = admin.post(url, data)  # the same form submitted again: no second key, and the key is not shown
    assert again.status_code == 302 and again["Location"] == reverse("api:keys")
    assert ApiKey.objects.count() == 1
    listing = admin.get(reverse("api:keys")).content.decode()
    assert raw not in listing and ApiKey.objects.get().prefix in listing


def test_revoking_a_key_asks_first(client_for, api_key_for):
    raw = api_key_for(Role.VIEWER)
    admin = client_for(Role.ADMIN)
    url = reverse("api:key_revoke", args=[ApiKey.objects.get().pk])
    assert "Revoke" in admin.post(url).content.decode()  # unconfirmed: the question
    assert ApiClient(raw).get(MESSAGES).status_code == 200
    assert admin.post(url, {"confirmed": "1"}).status_code == 302
    assert_error(ApiClient(raw).get(MESSAGES), 401, "authentication_failed")


def test_the_docs_page_loads_its_script_under_the_csp(client_for):
    client = client_for(Role.VIEWER)
    page = client.get(reverse("api:docs"))
    assert page.status_code == 200
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]  # the console's policy, unchanged
    html = page.content.decode()
    assert "<script>" not in html and "<style" not in html  # the init script is a separate request
    script = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    init = client.get(script)
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert "drf_spectacular_sidecar" in asset or asset.startswith("/static/api/")  # served by us, no CDN


def test_the_schema_is_public_json_with_the_error_shape():
    response = ApiClient(None).client.get("/api/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
