"""The API call log: Kaizala's own errorCode beside the console's error class (12.11), and the list
filters, where a bad value is dropped with a note instead of a 500 (13.3)."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.actor import SYSTEM
from connectors import services
from connectors.models import ApiCall, Connector, PhoneUser

pytestmark = pytest.mark.django_db
MOBILE = "+919812345678"


def test_a_wrong_pin_is_logged_with_kaizalas_own_error_code(client_for, connector, sandbox,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = services.phone_user_start_onboarding(actor=SYSTEM, connector=connector, mobile_number=MOBILE)
    wrong = "1111" if sandbox.latest_pin(MOBILE) != "1111" else "2222"
    with django_capture_on_commit_callbacks(execute=True):
        services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=wrong)
    call = ApiCall.objects.get(url__endswith="/v1/loginWithPinAndApplicationId")
    assert (call.error_class, call.error_code) == ("InvalidToken", "Unauthenticated")
    client = client_for(Role.VIEWER)
    for url in (reverse("connectors:calls"), reverse("connectors:call", args=[call.pk])):
        assert "Unauthenticated" in client.get(url).content.decode()


def test_a_wrong_secret_is_logged_with_kaizalas_own_error_code(connector, sandbox, make_phone_user):
    phone_user = make_phone_user()
    Connector.objects.filter(pk=connector.pk).update(application_secret="not-the-secret")
    PhoneUser.objects.filter(pk=phone_user.pk).update(state=PhoneUser.State.VERIFYING)
    services.fetch_access_token_run(phone_user.pk)
    call = ApiCall.objects.get(url__endswith="/v1/accessToken")
    assert call.error_code == "Unauthenticated" and call.error_class == "InvalidToken"


@pytest.mark.parametrize(("url", "note"), [
    ("/phone-users/?connector=abc", "The connector filter “abc” is not valid and was ignored."),
    ("/phone-users/?state=nonsense", "The state filter “nonsense” is not valid and was ignored."),
    ("/api-calls/?connector=abc", "The connector filter “abc” is not valid and was ignored."),
    ("/api-calls/?phone_user=abc", "The phone user filter “abc” is not valid and was ignored."),
    ("/api-calls/?status=teapot", "The status filter “teapot” is not valid and was ignored."),
    ("/api-calls/?method=BREW&page=x", "The method filter “BREW” is not valid and was ignored."),
])
def test_a_bad_filter_value_is_ignored_with_a_note(client_for, url, note):
    connector = Connector.objects.create(name="c", application_id="a", application_secret="s")
    PhoneUser.objects.create(connector=connector, mobile_number=MOBILE)
    ApiCall.objects.create(connector=connector, method="GET", url="http://k/v1/groups", status=200)
    response = client_for(Role.VIEWER).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert note in page
    assert MOBILE in page if url.startswith("/phone-users/") else "/v1/groups" in page  # the whole list


def test_a_good_filter_value_still_filters(client_for):
    one = Connector.objects.create(name="One", application_id="a1", application_secret="s")
    two = Connector.objects.create(name="Two", application_id="a2", application_secret="s")
    ApiCall.objects.create(connector=one, method="GET", url="http://k/v1/one", status=200)
    ApiCall.objects.create(connector=two, method="POST", url="http://k/v1/two", status=401, error_class="InvalidToken")
    client = client_for(Role.VIEWER)
    page = client.get(f"/api-calls/?connector={two.pk}&status=4xx&method=POST").content.decode()
    assert "/v1/two" in page and "/v1/one" not in page and "not valid" not in page
    for selected in (f'<option value="{two.pk}" selected>Two', '<option value="4xx" selected>4xx',
                     '<option value="POST" selected>POST'):
        assert selected in page  # the form shows the filter in force
