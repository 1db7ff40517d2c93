import pytest
from django.conf import settings
from django.urls import reverse

from accounts.roles import Role
from tests.fixtures.users import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_lands_on_the_dashboard(client, make_user):
    make_user("alice", Role.VIEWER)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert b"Viewer" in response.content


def test_wrong_password_is_refused_with_a_message(client, make_user):
    make_user("alice", Role.VIEWER)
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, make_user):
    make_user("alice", Role.ADMIN)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_one_users_failures_do_not_lock_another(client, make_user):
    make_user("alice", Role.ADMIN)
    make_user("bob", Role.ADMIN)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_logout_needs_post_and_ends_the_session(client_for):
    client = client_for(Role.VIEWER)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_password_change(client, make_user):
    client.force_login(make_user("alice", Role.VIEWER))
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "a-much-longer-pass-42", "new_password2": "a-much-longer-pass-42"},
    )
    assert response.status_code == 302
    client.logout()
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    client.post(reverse("login"), {"username": "alice", "password": "a-much-longer-pass-42"})
    assert client.session["_auth_user_id"]
