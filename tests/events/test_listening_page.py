"""The group page's listening panel: the button, the states, the https warning."""

import pytest

from accounts.roles import Role
from events.models import Subscription
from tests.events.conftest import make_subscription
from tests.security.world import make_world

pytestmark = pytest.mark.django_db


def test_the_page_warns_when_the_public_url_is_not_https_and_the_peer_is_not_the_sandbox(client_for, settings):
    world = make_world()
    client = client_for(Role.OPERATOR)
    settings.PUBLIC_BASE_URL, settings.KAIZALA_SANDBOX_URL = "http://console.example.org", ""
    page = client.get(f"/groups/{world['group'].pk}/").content.decode()
    assert "is not https" in page
    settings.KAIZALA_SANDBOX_URL = "http://127.0.0.1:8700"
    assert "is not https" not in client.get(f"/groups/{world['group'].pk}/").content.decode()
    settings.PUBLIC_BASE_URL, settings.KAIZALA_SANDBOX_URL = "https://console.example.org", ""
    assert "is not https" not in client.get(f"/groups/{world['group'].pk}/").content.decode()


def test_listening_without_a_public_url_is_refused_with_a_sentence(client_for, settings):
    settings.PUBLIC_BASE_URL = ""
    world = make_world()
    Subscription.objects.filter(group=world["group"]).delete()
    response = client_for(Role.OPERATOR).post(f"/events/groups/{world['group'].pk}/listen/", follow=True)
    assert "Set PUBLIC_BASE_URL" in response.content.decode()
    assert not Subscription.objects.filter(group=world["group"]).exists()


def test_the_panel_shows_the_state_and_never_the_token(client_for):
    subscription = make_subscription(state=Subscription.State.DISABLED)
    page = client_for(Role.OPERATOR).get(f"/groups/{subscription.group_id}/").content.decode()
    assert "Disabled by Kaizala" in page and "Listen again" in page and "Stop listening" in page
    assert subscription.callback_token not in page


def test_stop_listening_asks_first(client_for):
    subscription = make_subscription()
    client = client_for(Role.OPERATOR)
    page = client.get(f"/events/subscriptions/{subscription.pk}/stop/")
    assert page.status_code == 200 and "Stop listening" in page.content.decode()
    assert Subscription.objects.get(pk=subscription.pk).state == Subscription.State.ACTIVE
