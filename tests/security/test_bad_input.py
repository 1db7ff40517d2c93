"""Reads the bad-input table (tests/security/bad_input.py): for each row, what the person sees, and that
nothing was saved or sent (or, for valid input, that it was kept exactly)."""

import calendar
import datetime as dt

import pytest
from django.test import Client

from accounts.models import Profile
from accounts.roles import Role
from audit.actor import SYSTEM
from connectors import services as connector_services
from connectors.models import ApiCall, Connector, PhoneUser
from groups.models import Group, GroupMember
from messaging.models import MediaFile, Message, Schedule
from tests.form_token import form_token
from tests.security.bad_input import TABLE, Row
from tests.security.world import make_world

WATCHED = [Connector, PhoneUser, Group, GroupMember, Message, Schedule, ApiCall, MediaFile]


def _last_sunday(year: int, month: int) -> dt.date:
    last = calendar.monthrange(year, month)[1]
    day = dt.date(year, month, last)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def _dst_time(kind: str) -> str:
    year = dt.date.today().year + 1  # within the two-year horizon, always in the future
    day = _last_sunday(year, 3 if kind == "NEXT_SPRING_GAP" else 10)
    return f"{day.isoformat()}T01:30"


def _counts():
    return {m.__name__: m.objects.count() for m in WATCHED}


@pytest.fixture
def admin(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = make_user("bad-input-admin", Role.ADMIN)
    Profile.objects.update_or_create(user=user, defaults={"time_zone": "Europe/London"})
    client = Client()
    client.force_login(user)
    return client


def _fill(value, ids):
    return value.format(**ids) if isinstance(value, str) and "{" in value else value


@pytest.mark.django_db
@pytest.mark.parametrize("row", TABLE, ids=[f"{r.area}-{r.case}" for r in TABLE])
def test_bad_input(row: Row, admin, sandbox, settings, django_capture_on_commit_callbacks):
    settings.KAIZALA_READ_TIMEOUT = 1.0  # the "very slow" answer is held 3 s
    for name, value in row.settings.items():
        setattr(settings, name, value)
    world = make_world()
    ids = {"connector": world["connector"].pk, "group": world["group"].pk, "phone_user": world["phone_user"].pk,
           "message": world["message"].pk}
    if row.setup in ("pin", "kaizala"):
        created = sandbox.create_connector(name="Bad input")
        connector = Connector.objects.create(name="Bad input", application_id=created["applicationId"],
                                             application_secret=created["applicationSecret"],
                                             auth_base_url=sandbox.base_url)
        ids["connector"] = connector.pk
    if row.setup == "pin":
        mobile = "+919876500009"
        with django_capture_on_commit_callbacks(execute=True):
            waiting = connector_services.phone_user_start_onboarding(actor=SYSTEM, connector=connector,
                                                                 mobile_number=mobile)
        ids["phone_user"] = waiting.pk
        right = sandbox.latest_pin(mobile)
        wrong = f"{(int(right) + 1) % 10000:04d}"
        pin = row.data["pin"]
        if pin == "WRONG":
            pin = wrong
        elif pin == "RIGHT_AFTER_11_MINUTES":
            sandbox.advance_clock(11 * 60)
            pin = right
        elif pin == "RIGHT_AFTER_3_WRONG":
            for _ in range(3):
                with django_capture_on_commit_callbacks(execute=True):
                    connector_services.phone_user_submit_pin(actor=SYSTEM,
                        phone_user=PhoneUser.objects.get(pk=waiting.pk), pin=wrong)
            pin = right
        data = {"pin": pin}
    else:
        data = {key: _fill(value, ids) for key, value in row.data.items()}
        if data.get("send_at") in ("NEXT_SPRING_GAP", "NEXT_AUTUMN_OVERLAP"):
            data["send_at"] = _dst_time(data["send_at"])
    if row.fault:
        sandbox.inject_fault(path="/v1/generatePin", **row.fault)
    files = {name: _upload(filename, content) for name, (filename, content) in row.files.items()} if row.files else {}
    before = _counts()
    sends_before = len(sandbox.calls(route="sendMessage")) + len(sandbox.calls(route="createAction"))

    with django_capture_on_commit_callbacks(execute=True):
        url = row.url.format(**ids)
        if row.method == "GET":
            response = admin.get(url)
        else:
            token = form_token(admin, url) if row.create_form and row.setup != "pin" else {}
            response = admin.post(url, {**data, **files, **token})
    status = response.status_code
    if status == 302:
        response = admin.get(response["Location"])
    page = response.content.decode()

    assert status == row.status, f"{row.area}/{row.case}: {status}, table says {row.status}"
    assert row.sees.lower() in page.lower(), f"{row.area}/{row.case}: the page does not say {row.sees!r}"
    after = _counts()
    assert len(sandbox.calls(route="sendMessage")) + len(sandbox.calls(route="createAction")) == sends_before, (
        "a message went to Kaizala")
    if row.outcome == "refused":
        assert after == before, f"something was saved: {before} → {after}"
    elif row.outcome == "failed":
        changed = {k for k in after if after[k] != before[k]} - {"ApiCall", "PhoneUser"}
        assert not changed, f"something was saved: {before} → {after}"
        assert not PhoneUser.objects.filter(state=PhoneUser.State.ACTIVE).exclude(pk=world["phone_user"].pk).exists()
        assert not PhoneUser.objects.exclude(pk=world["phone_user"].pk).exclude(refresh_token="").exists()
    else:
        assert after["Message"] == before["Message"] + 1
        assert Message.objects.order_by("-pk").first().text == row.keep


def _upload(filename, content):
    import mimetypes

    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(filename, content, content_type=mimetypes.guess_type(filename)[0] or "text/plain")
