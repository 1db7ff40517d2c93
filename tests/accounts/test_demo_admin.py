"""`manage.py ensure_demo_admin`: creates the admin once, and --reset-password prints a new password."""

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from accounts.roles import Role, user_role

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("ensure_demo_admin", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    match = re.search(r"with password: (\S+)", output)
    assert match, output
    return match.group(1)


def can_log_in(password: str) -> bool:
    return authenticate(RequestFactory().post("/login/"), username="admin", password=password) is not None


def test_first_run_creates_the_admin_and_prints_its_password():
    password = printed_password(run())
    assert can_log_in(password)
    from django.contrib.auth import get_user_model

    assert user_role(get_user_model().objects.get(username="admin")) == Role.ADMIN


def test_a_second_run_prints_no_password_and_says_how_to_get_one():
    first = printed_password(run())
    output = run()
    assert "with password" not in output
    assert "--reset-password" in output
    assert can_log_in(first)


def test_reset_password_prints_a_new_one_and_the_old_one_stops_working():
    first = printed_password(run())
    output = run("--reset-password")
    second = printed_password(output)
    assert second != first
    assert can_log_in(second)
    assert not can_log_in(first)
