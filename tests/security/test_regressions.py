"""Bugs the security and reliability suites found, each pinned by a test."""

import pytest
from django.test import Client

from accounts.roles import Role
from connectors.models import PhoneUser
from tests.security.world import make_world


@pytest.mark.django_db
def test_removing_a_phone_user_that_owns_groups_is_refused_not_a_500(make_user):
    """Found by the access matrix: POST /phone-users/<pk>/remove/ for a phone user with groups raised
    ProtectedError (a 500 page). Now the page says why, and nothing is deleted."""
    world = make_world()
    client = Client(raise_request_exception=False)
    client.force_login(make_user("remover", Role.ADMIN))
    response = client.post(f"/phone-users/{world['phone_user'].pk}/remove/", {"confirmed": "1"}, follow=True)
    assert response.status_code == 200
    assert "owns 1 group" in response.content.decode()
    assert PhoneUser.objects.filter(pk=world["phone_user"].pk).exists()


@pytest.mark.django_db
def test_a_phone_user_without_groups_can_still_be_removed(make_user):
    world = make_world()
    world["message"].delete()
    world["group"].schedules.clear()
    world["group"].delete()
    client = Client()
    client.force_login(make_user("remover", Role.ADMIN))
    response = client.post(f"/phone-users/{world['phone_user'].pk}/remove/", {"confirmed": "1"})
    assert response.status_code == 302 and response["Location"] == "/phone-users/"
    assert not PhoneUser.objects.filter(pk=world["phone_user"].pk).exists()
