"""The Users page: invitations with a one-time link, roles, deactivation, forced resets; the password
policy; the Django admin for superusers only."""

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role, user_role
from tests.fixtures.users import PASSWORD
from tests.form_token import form_token

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "lantern-orchard-velvet-42"
LINK = re.compile(r"https?://[^/\s]+(/set-password/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def admin(client_for):
    return client_for(Role.ADMIN)


def invite(admin, **data):
    url = "/users/invite/"
    return admin.post(url, {"username": "newcomer", "email": "", "role": Role.OPERATOR.value,
                            **data, **form_token(admin, url)}, follow=True)


def password_works(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


def set_password(link_path: str, password: str = NEW_PASSWORD):
    """Follow the link as the invited person would (Django moves the token into the session first)."""
    anonymous = Client()
    page = anonymous.get(link_path, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link_path
    return anonymous.post(form_url, {"new_password1": password, "new_password2": password}, follow=True)


@pytest.mark.parametrize(("password", "why"), [
    ("Short-pass1", "at least 12 characters"),
    ("40912873465019", "entirely numeric"),
    ("password1234", "too common"),
    ("newcomer-newcomer", "too similar"),
])
def test_the_password_policy_refuses(password, why):
    user = get_user_model()(username="newcomer-newcomer")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert why in " ".join(refused.value.messages)


def test_without_mail_the_invitation_link_is_shown_and_logged_and_sets_a_password_once(
        admin, caplog, django_capture_on_commit_callbacks):
    with caplog.at_level(logging.INFO, logger="accounts.services"), django_capture_on_commit_callbacks(execute=True):
        page = invite(admin).content.decode()
    link = LINK.search(page).group(1)
    assert link in caplog.text
    user = get_user_model().objects.get(username="newcomer")
    assert user_role(user) == Role.OPERATOR and not user.has_usable_password()

    assert "Password set" in set_password(link).content.decode()
    assert password_works("newcomer", NEW_PASSWORD)
    again = set_password(link, "another-orchard-velvet-43").content.decode()
    assert "does not work any more" in again
    assert password_works("newcomer", NEW_PASSWORD)


def test_with_mail_the_link_is_mailed_not_shown(admin, settings, django_capture_on_commit_callbacks):
    settings.MAIL_CONFIGURED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        page = invite(admin, email="newcomer@example.org").content.decode()
    assert "mailed to newcomer@example.org" in page and not LINK.search(page)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newcomer@example.org"]
    assert "Password set" in set_password(LINK.search(mail.outbox[0].body).group(1)).content.decode()


def test_an_expired_link_sets_nothing(admin, settings):
    link = LINK.search(invite(admin).content.decode()).group(1)
    settings.PASSWORD_RESET_TIMEOUT = -1  # the link is older than its lifetime
    assert "does not work any more" in set_password(link).content.decode()
    assert not get_user_model().objects.get(username="newcomer").has_usable_password()


def test_a_weak_password_is_refused_on_the_link_page(admin):
    link = LINK.search(invite(admin).content.decode()).group(1)
    page = set_password(link, "short").content.decode()
    assert "at least 12 characters" in page
    assert not get_user_model().objects.get(username="newcomer").has_usable_password()


def test_an_existing_username_is_refused(admin, make_user):
    make_user("taken", Role.VIEWER)
    page = invite(admin, username="Taken").content.decode()
    assert "already exists" in page
    assert get_user_model().objects.filter(username__iexact="taken").count() == 1


def test_the_role_changes_to_exactly_one_role(admin, make_user):
    viewer = make_user("someone", Role.VIEWER)
    admin.post(f"/users/{viewer.pk}/role/", {"role": Role.OPERATOR.value})
    role_groups = set(viewer.groups.values_list("name", flat=True)) & {r.group_name for r in Role}
    assert role_groups == {"Operator"}


def test_a_bad_role_changes_nothing(admin, make_user):
    viewer = make_user("someone", Role.VIEWER)
    response = admin.post(f"/users/{viewer.pk}/role/", {"role": "99"}, follow=True)
    assert "Choose one of the roles" in response.content.decode()
    assert list(viewer.groups.values_list("name", flat=True)) == ["Viewer"]


def test_an_admin_cannot_demote_or_deactivate_themselves_nor_a_superuser(admin, django_user_model):
    me = django_user_model.objects.get(username="user-admin")
    boss = django_user_model.objects.create_superuser("boss", password=PASSWORD)
    for target in (me, boss):
        admin.post(f"/users/{target.pk}/role/", {"role": Role.VIEWER.value})
        admin.post(f"/users/{target.pk}/deactivate/", {"confirmed": "1"})
        target.refresh_from_db()
        assert target.is_active and user_role(target) == Role.ADMIN


def test_deactivation_asks_first_then_ends_the_persons_session(admin, make_user):
    someone = make_user("someone", Role.OPERATOR)
    theirs = Client()
    theirs.force_login(someone)
    assert theirs.get("/").status_code == 200
    assert "Deactivate someone?" in admin.post(f"/users/{someone.pk}/deactivate/").content.decode()
    someone.refresh_from_db()
    assert someone.is_active
    admin.post(f"/users/{someone.pk}/deactivate/", {"confirmed": "1"})
    someone.refresh_from_db()
    assert not someone.is_active
    assert theirs.get("/")["Location"].startswith("/login/")
    admin.post(f"/users/{someone.pk}/activate/")
    assert password_works("someone", PASSWORD)


def test_a_forced_reset_ends_the_password_and_the_sessions_and_hands_over_a_link(admin, make_user):
    someone = make_user("someone", Role.OPERATOR)
    theirs = Client()
    theirs.force_login(someone)
    page = admin.post(f"/users/{someone.pk}/reset-password/", {"confirmed": "1"}, follow=True).content.decode()
    assert not password_works("someone", PASSWORD)
    assert theirs.get("/")["Location"].startswith("/login/")
    set_password(LINK.search(page).group(1))
    assert password_works("someone", NEW_PASSWORD)


def test_the_users_page_shows_role_status_and_last_login(admin, make_user):
    make_user("someone", Role.VIEWER)
    page = admin.get("/users/").content.decode()
    assert "someone" in page and "Viewer" in page and "never" in page


@pytest.mark.parametrize(("staff", "superuser", "status"), [(True, False, 302), (True, True, 200)])
def test_the_django_admin_is_for_superusers_only(django_user_model, staff, superuser, status):
    user = django_user_model.objects.create_user("staffer", password=PASSWORD, is_staff=staff, is_superuser=superuser)
    user.groups.add(Group.objects.get_or_create(name="Admin")[0])
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)  # past the second step
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == status
