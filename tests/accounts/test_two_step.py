"""Two-step login: enrolment with a QR code and recovery codes, the code after the password, the gate for
unverified sessions, recovery codes used once, and wrong codes counted by the login lockout."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from tests.fixtures.users import PASSWORD, totp_code, totp_code_for_key

pytestmark = pytest.mark.django_db


def password_login(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def enrol(client: Client) -> list[str]:
    page = client.get("/two-step/enrol/").content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    key = re.search(r'id="totp-key">([A-Z2-7]+)<', page).group(1)
    done = client.post("/two-step/enrol/", {"code": totp_code_for_key(key)}).content.decode()
    return re.findall(r"<li>(\w+)</li>", done.split('id="recovery-codes"')[1].split("</ul>")[0])


def test_an_admin_without_the_second_step_is_sent_to_enrolment_and_reaches_nothing_else(make_user):
    user = make_user("newadmin", Role.OPERATOR)
    user.groups.add(*get_user_model().groups.rel.model.objects.filter(name="Admin"))
    client = password_login("newadmin")
    for url in ("/", "/connectors/", "/users/", "/messages/compose/", "/login/code/"):
        response = client.get(url)
        if url == "/login/code/":  # open to unverified sessions; with no device, it asks for a code in vain
            continue
        assert response.status_code == 302 and response["Location"].startswith("/two-step/enrol/"), url
    codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert client.get("/connectors/").status_code == 200


def test_the_recovery_codes_are_shown_once(make_user):
    make_user("newadmin", Role.ADMIN)
    TOTPDevice.objects.filter(user__username="newadmin").delete()
    client = password_login("newadmin")
    codes = enrol(client)
    assert codes
    status = client.get("/two-step/").content.decode()
    assert not any(code in status for code in codes)
    assert client.get("/two-step/enrol/")["Location"] == "/two-step/"


def test_an_operator_may_go_without_unless_every_role_must(make_user, settings):
    make_user("operator", Role.OPERATOR)
    assert password_login("operator").get("/").status_code == 200
    settings.TWO_STEP_REQUIRED_FOR_ALL = True
    assert password_login("operator").get("/")["Location"].startswith("/two-step/enrol/")


def test_login_with_a_code_after_the_password(make_user):
    admin = make_user("alice", Role.ADMIN)
    client = password_login("alice")
    assert client.get("/connectors/")["Location"] == "/login/code/?next=%2Fconnectors%2F"
    response = client.post("/login/code/", {"code": totp_code(admin), "next": "/connectors/"})
    assert response["Location"] == "/connectors/"
    assert client.get("/connectors/").status_code == 200


def test_an_enrolled_user_cannot_swap_the_device_with_the_password_alone(make_user):
    admin = make_user("alice", Role.ADMIN)
    before = list(TOTPDevice.objects.filter(user=admin).values_list("pk", "key"))
    client = password_login("alice")
    assert client.get("/two-step/enrol/")["Location"].startswith("/login/code/")
    client.post("/two-step/enrol/", {"code": "123456"})
    assert list(TOTPDevice.objects.filter(user=admin, confirmed=True).values_list("pk", "key")) == before


def test_a_recovery_code_works_once(make_user):
    make_user("alice", Role.ADMIN)
    TOTPDevice.objects.filter(user__username="alice").delete()
    code = enrol(password_login("alice"))[0]
    first = password_login("alice")
    assert first.post("/login/code/", {"code": code})["Location"] == "/"
    assert first.get("/connectors/").status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()
    second = password_login("alice")
    page = second.post("/login/code/", {"code": code}).content.decode()
    assert "not right, or was used already" in page
    assert second.get("/connectors/")["Location"].startswith("/login/code/")


def test_wrong_codes_lock_the_login_out(make_user, settings):
    admin = make_user("alice", Role.ADMIN)
    client = password_login("alice")
    wrong = "000000" if totp_code(admin) != "000000" else "111111"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/code/", {"code": wrong}).status_code == 200
        TOTPDevice.objects.filter(user=admin).update(throttling_failure_count=0)  # the device's own delay aside
    response = client.post("/login/code/", {"code": wrong})
    assert b"Too many failed logins" in response.content
    # Locked: the right password no longer logs in, and the session cannot go on with a right code either.
    assert b"Too many failed logins" in Client().post("/login/", {"username": "alice", "password": PASSWORD}).content
    assert client.get("/connectors/")["Location"].startswith("/login/")


def test_the_users_page_shows_the_two_step_status_and_an_admin_can_reset_it(client_for, make_user):
    admin = client_for(Role.ADMIN)
    other = make_user("other-admin", Role.ADMIN)
    rows = admin.get("/users/").content.decode().split("<tr>")
    assert "<td>on</td>" in next(row for row in rows if "other-admin" in row)
    admin.post(f"/users/{other.pk}/reset-two-step/", {"confirmed": "1"})
    assert not TOTPDevice.objects.filter(user=other).exists()
    assert password_login("other-admin").get("/")["Location"].startswith("/two-step/enrol/")
