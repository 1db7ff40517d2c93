"""The current-password check on the password page counts with the login lockout (django-axes)."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.roles import Role
from tests.fixtures.users import PASSWORD

pytestmark = pytest.mark.django_db
NEW = "a-much-longer-pass-42"


def change(client, old: str):
    return client.post(reverse("password_change"), {"old_password": old, "new_password1": NEW, "new_password2": NEW})


def test_wrong_current_passwords_lock_the_password_page_as_the_login_would(client, make_user):
    client.force_login(make_user("alice", Role.VIEWER))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = change(client, "wrong")
        assert response.status_code == 200
        assert b"Your old password was entered incorrectly" in response.content
    assert change(client, "wrong").status_code == 429  # the limit: refused from now on
    response = change(client, PASSWORD)  # the right one, after the limit
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert get_user_model().objects.get(username="alice").check_password(PASSWORD)
    attempt = AccessAttempt.objects.get(username="alice")  # the record the lockout is kept by
    assert attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
    assert attempt.path_info == "/password/"


def test_the_lockout_also_refuses_the_login(client, make_user):
    client.force_login(make_user("alice", Role.VIEWER))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        change(client, "wrong")
    client.logout()
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_right_current_password_below_the_limit_changes_it(client, make_user):
    client.force_login(make_user("alice", Role.VIEWER))
    change(client, "wrong")
    assert change(client, PASSWORD).status_code == 302
    assert get_user_model().objects.get(username="alice").check_password(NEW)


def test_the_attempts_axes_keeps_hold_no_typed_password(client, make_user):
    client.force_login(make_user("alice", Role.VIEWER))
    client.post(reverse("password_change"),
                {"old_password": "wrong-old-secret-1", "new_password1": NEW, "new_password2": NEW})
    stored = " ".join(f"{a.get_data} {a.post_data}" for a in AccessAttempt.objects.all())
    assert "old_password" in stored  # the fields are there, masked
    for secret in ("wrong-old-secret-1", NEW):
        assert secret not in stored
