"""Refusals: a 403 is one warning line without a traceback; every page is sent `Cache-Control: no-store`; a
form body in a character set the console does not read is a 400 with a sentence, even with DEBUG on."""

import logging
import sys

import pytest
from django.test import Client

from accounts.roles import Role
from tests.fixtures.users import PASSWORD
from tests.security.test_access_matrix import CONSOLE, MATRIX, WHO
from tests.security.world import concrete, make_world

pytestmark = pytest.mark.django_db


# --- 403: one line ----------------------------------------------------------------------------------


def test_a_403_is_one_warning_record_without_a_traceback(client_for, caplog):
    client = client_for(Role.VIEWER)
    with caplog.at_level(logging.INFO):
        assert client.get("/groups/new/").status_code == 403
    records = [r for r in caplog.records if r.name.startswith("django")]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.WARNING
    assert records[0].exc_info is None
    assert "Forbidden" in records[0].getMessage()


def test_django_records_are_printed_by_one_handler():
    """With DEBUG, Django's default console handler printed every line a second time beside the root's."""
    assert logging.getLogger("django").handlers == []
    assert len(logging.getLogger().handlers) >= 1


def test_a_500_keeps_its_traceback():
    from kaizala_console.log_filters import RefusalWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", (),
                                   exc_info=sys.exc_info())
    record.status_code = 500
    RefusalWithoutTraceback().filter(record)
    assert record.exc_info is not None


# --- Cache-Control --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN], ids=["viewer", "admin"])
def test_every_page_behind_login_is_sent_no_store(make_user, settings, role):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = make_world()
    client = Client()
    client.force_login(make_user(f"cache-{role.name.lower()}", role))
    seen = 0
    for name, route in CONSOLE:
        # 302 for an Admin: the two-step pages send one who has typed the code on.
        if name in ("logout", "login") or MATRIX[name]["GET"][3] in (302, 405):
            continue
        url = concrete(name, route, world)
        response = client.get(url)
        # The status the access matrix promises (a page, a 403, the REST API's 401): none may be kept.
        assert response.status_code == MATRIX[name]["GET"][WHO.index(role)], f"GET {url}: {response.status_code}"
        cache_control = response.get("Cache-Control", "")
        assert "no-store" in cache_control, f"GET {url}: Cache-Control {cache_control!r}"
        seen += 1
    assert seen >= 25


# --- unreadable form bodies -----------------------------------------------------------------------

UNREADABLE = {
    "utf-16 form": ("application/x-www-form-urlencoded; charset=utf-16", "utf-16"),
    "utf-32 form": ("application/x-www-form-urlencoded; charset=utf-32", "utf-32"),
    "unknown charset": ("application/x-www-form-urlencoded; charset=klingon-8", "unknown character set"),
    "utf-16 multipart": ("multipart/form-data; charset=utf-16; boundary=xx", "utf-16"),
    "multipart without a boundary": ("multipart/form-data", "could not be read"),
}


@pytest.fixture
def debug_client(settings, make_user):
    """DEBUG on, as `dev.py start` runs, and CSRF enforced, as a browser meets it: the CSRF check is the
    first reader of the body, and the debug error page read it a second time."""
    settings.DEBUG = True
    make_user("form-user", Role.VIEWER)
    client = Client(enforce_csrf_checks=True)
    token = client.get("/login/").cookies["csrftoken"].value
    return client, token


@pytest.mark.parametrize(("content_type", "said"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_form_is_a_400_with_a_sentence(debug_client, content_type, said):
    client, token = debug_client
    body = f"csrfmiddlewaretoken={token}&username=form-user&password={PASSWORD}"
    if content_type.startswith("multipart/form-data; charset"):
        body = (f'--xx\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
                f'--xx\r\nContent-Disposition: form-data; name="username"\r\n\r\nform-user\r\n--xx--\r\n')
    charset = content_type.partition("charset=")[2]
    encoding = charset if charset in ("utf-16", "utf-32") and "multipart" not in content_type else "ascii"
    response = client.generic("POST", "/login/", body.encode(encoding), content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert said in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "us-ascii"])
def test_a_form_in_utf8_under_any_name_is_read(debug_client, charset):
    client, token = debug_client
    body = f"csrfmiddlewaretoken={token}&username=form-user&password={PASSWORD}"
    response = client.generic("POST", "/login/", body.encode(),
                              content_type=f"application/x-www-form-urlencoded; charset={charset}")
    assert response.status_code == 302
    assert client.session["_auth_user_id"]
