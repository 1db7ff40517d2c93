"""12.13 and 12.14: onboarding an active phone again, re-onboarding and removing ask first, saying what
the action affects; nothing changes until the person confirms."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import PhoneUser
from tests.form_token import form_token

pytestmark = pytest.mark.django_db
State = PhoneUser.State


def test_onboarding_a_number_already_active_asks_first(client_for, sandbox, phone_user, group,
                                                         django_capture_on_commit_callbacks):
    client = client_for(Role.ADMIN)
    url = reverse("connectors:onboard")
    data = {"connector": phone_user.connector_id, "mobile_number": phone_user.mobile_number}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**data, **form_token(client, url)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "It is active now" in page and "1 group(s) send through this phone user" in page
    phone_user.refresh_from_db()
    assert phone_user.state == State.ACTIVE
    assert sandbox.pins(phone_user.mobile_number) == []

    with django_capture_on_commit_callbacks(execute=True):
        # As the browser would: the confirmation page carries the form's one-time token on.
        response = client.post(url, {**data, **form_token(client=None, url=url, page=page), "confirmed": "1"})
    assert response["Location"] == reverse("connectors:phone_user", args=[phone_user.pk])
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_REQUESTED and phone_user.pin_sent_at
    assert len(sandbox.pins(phone_user.mobile_number)) == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_re_onboarding_asks_first_with_what_it_affects(client_for, sandbox, phone_user, group, method):
    from messaging.models import Message

    soon = timezone.now() + timedelta(hours=1)
    Message.objects.create(group=group, text="Later", broadcast_id=uuid.uuid4(), due_at=soon, scheduled_for=soon,
                           status_changed_at=timezone.now())
    client = client_for(Role.ADMIN)
    response = getattr(client, method)(reverse("connectors:reonboard", args=[phone_user.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "1 group(s) send through this phone user" in page
    assert "1 message(s) still to send and 0 active schedule(s)" in page
    assert 'name="confirmed" value="1"' in page
    phone_user.refresh_from_db()
    assert phone_user.state == State.ACTIVE
    assert sandbox.pins(phone_user.mobile_number) == []


def test_re_onboarding_once_confirmed_sends_a_pin(client_for, sandbox, phone_user, django_capture_on_commit_callbacks):
    client = client_for(Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("connectors:reonboard", args=[phone_user.pk]), {"confirmed": "1"})
    assert response.status_code == 302
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_REQUESTED
    assert len(sandbox.pins(phone_user.mobile_number)) == 1


def test_removing_asks_first_and_says_what_blocks_it(client_for, sandbox, phone_user, group):
    client = client_for(Role.ADMIN)
    for method in ("get", "post"):
        response = getattr(client, method)(reverse("connectors:remove", args=[phone_user.pk]))
        assert response.status_code == 200
        assert "cannot be removed while 1 group(s) send through it" in response.content.decode()
    assert PhoneUser.objects.filter(pk=phone_user.pk).exists()


def test_removing_once_confirmed_deletes_the_phone_user(client_for, sandbox, phone_user):
    client = client_for(Role.ADMIN)
    page = client.get(reverse("connectors:remove", args=[phone_user.pk])).content.decode()
    assert "0 group(s) send through this phone user" in page
    assert PhoneUser.objects.filter(pk=phone_user.pk).exists()
    response = client.post(reverse("connectors:remove", args=[phone_user.pk]), {"confirmed": "1"})
    assert response["Location"] == reverse("connectors:phone_users")
    assert not PhoneUser.objects.filter(pk=phone_user.pk).exists()


def test_the_phone_user_page_links_to_the_confirmations_instead_of_acting(client_for, sandbox, phone_user):
    page = client_for(Role.ADMIN).get(reverse("connectors:phone_user", args=[phone_user.pk])).content.decode()
    assert f'href="{reverse("connectors:remove", args=[phone_user.pk])}"' in page
    assert f'href="{reverse("connectors:reonboard", args=[phone_user.pk])}"' in page
