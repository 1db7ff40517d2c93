"""A create form submitted twice (a double click, a replayed POST, two tabs racing) creates once: the second
submit is sent to the first result, with a note, and Kaizala hears of it once (kaizala_console/submit_once.py).

Every create form of the console is a row of FORMS; each row says how to fill it, what it creates, and which
Kaizala call the creation makes (checked in the sandbox's call log)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from connectors.models import PhoneUser
from groups.models import Group, GroupMember
from kaizala_console import submit_once, tasks
from kaizala_console.celery import app as celery_app
from kaizala_console.models import FormSubmission
from messaging import services as messaging_services
from messaging.models import Message, Schedule
from tests.form_token import form_token

pytestmark = pytest.mark.django_db(transaction=True)
NEW_MOBILE = "+919876500001"


@dataclass(frozen=True)
class Form:
    name: str
    page: Callable[[dict], str]  # where the form is shown
    action: Callable[[dict], str]  # where it posts
    data: Callable[[dict], dict]
    created: Callable[[], int]  # rows the create makes
    kaizala: dict  # the sandbox call the creation makes (a `calls` filter)
    after: Callable[[], object] = lambda: None  # what makes that call, if a worker would (here: the dispatcher)
    creates: int = 1  # rows one submit makes


def _compose(world):
    return {"groups": world["group"].pk, "text": "Only once, please", "when": "now"}


FORMS = [
    Form("compose", lambda w: reverse("messaging:compose"), lambda w: reverse("messaging:compose"), _compose,
         lambda: Message.objects.count(), {"route": "sendMessage"}, after=lambda: messaging_services.dispatch()),
    Form("new schedule", lambda w: reverse("messaging:compose"), lambda w: reverse("messaging:compose"),
         lambda w: {**_compose(w), "when": "recurring", "frequency": "daily", "local_time": "09:00"},
         lambda: Schedule.objects.count(), {}),
    Form("new group", lambda w: reverse("groups:create"), lambda w: reverse("groups:create"),
         lambda w: {"phone_user": w["phone_user"].pk, "name": "Once", "welcome_message": "Hi", "group_type": "Group",
                    "members": "+919876500002"},
         lambda: Group.objects.count(), {"route": "createGroup"}),
    Form("new sub-group", lambda w: reverse("groups:subgroup_create", args=[w["group"].pk]),
         lambda w: reverse("groups:subgroup_create", args=[w["group"].pk]),
         lambda w: {"name": "Once", "welcome_message": "Hi", "members": ""},
         lambda: Group.objects.count(), {"route": "createSubGroup"}),
    Form("add members", lambda w: reverse("groups:detail", args=[w["group"].pk]),
         lambda w: reverse("groups:members_add", args=[w["group"].pk]),
         lambda w: {"members-members": "+919876500003\n+919876500004"},
         lambda: GroupMember.objects.filter(mobile_number__in=["+919876500003", "+919876500004"]).count(),
         {"route": "addMembers"}, creates=2),
    Form("onboarding", lambda w: reverse("connectors:onboard"), lambda w: reverse("connectors:onboard"),
         lambda w: {"connector": w["connector"].pk, "mobile_number": NEW_MOBILE},
         lambda: PhoneUser.objects.filter(mobile_number=NEW_MOBILE).count(), {"route": "generatePin"}),
]


@pytest.fixture
def world(connector, phone_user, group, make_user):
    user = make_user("once-admin", Role.ADMIN)
    return {"connector": connector, "phone_user": phone_user, "group": group, "user": user}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _kaizala_calls(sandbox, form: Form) -> int:
    return len(sandbox.calls(**form.kaizala)) if form.kaizala else 0


def _filled(client, form: Form, world) -> dict:
    return {**form.data(world), **form_token(client, form.page(world))}


@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_a_replayed_submit_shows_the_first_result_and_creates_nothing(form, world, sandbox):
    client = _client(world["user"])
    data = _filled(client, form, world)
    before, calls_before = form.created(), _kaizala_calls(sandbox, form)

    first = client.post(form.action(world), data)
    again = client.post(form.action(world), data)
    form.after()

    assert first.status_code == 302, first.content.decode()[:2000]
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert submit_once.ALREADY_SUBMITTED in client.get(again["Location"]).content.decode()
    assert form.created() - before == form.creates
    if form.kaizala:
        assert _kaizala_calls(sandbox, form) - calls_before == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: the PostgreSQL run covers it")
@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_two_concurrent_submits_of_one_form_create_once(form, world, sandbox, monkeypatch):
    clients = [_client(world["user"]), _client(world["user"])]
    data = _filled(clients[0], form, world)
    before, calls_before = form.created(), _kaizala_calls(sandbox, form)
    barrier = threading.Barrier(2, timeout=30)
    claim = submit_once._claim

    def claim_together(token, user):
        barrier.wait()  # both submits passed every check: now they race for the row
        return claim(token, user)

    monkeypatch.setattr(submit_once, "_claim", claim_together)
    responses, errors = [], []

    def submit(client):
        try:
            responses.append(client.post(form.action(world), data))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    form.after()

    assert errors == []
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0]["Location"] == responses[1]["Location"]
    assert form.created() - before == form.creates
    if form.kaizala:
        assert _kaizala_calls(sandbox, form) - calls_before == 1
    assert FormSubmission.objects.count() == 1


def test_a_submit_without_a_token_shows_the_form_again_and_creates_nothing(world):
    client = _client(world["user"])
    response = client.post(reverse("messaging:compose"), _compose(world))
    page = response.content.decode()
    assert response.status_code == 200
    assert "not sent from its page" in page
    assert 'name="form_token"' in page  # a fresh token: submitting again works
    assert Message.objects.count() == 0


def test_a_token_rendered_for_another_person_is_refused(world, make_user):
    other = _client(make_user("someone-else", Role.ADMIN))
    client = _client(world["user"])
    response = client.post(reverse("messaging:compose"), {
        **_compose(world), **form_token(other, reverse("messaging:compose"))})
    assert "not sent from its page" in response.content.decode()
    assert Message.objects.count() == 0


def test_an_expired_token_is_refused(world, monkeypatch):
    client = _client(world["user"])
    data = _filled(client, FORMS[0], world)
    # The token is issued as if the form had been opened long ago; the session itself stays fresh.
    earlier = time.time() - settings.FORM_TOKEN_HOURS * 3600 - 60
    with monkeypatch.context() as patched:
        patched.setattr("django.core.signing.time.time", lambda: earlier)
        data[submit_once.FIELD] = submit_once.issue_token(world["user"])
    response = client.post(reverse("messaging:compose"), data)
    assert f"open for more than {settings.FORM_TOKEN_HOURS} hours" in response.content.decode()
    assert Message.objects.count() == 0 and FormSubmission.objects.count() == 0


def test_a_refused_create_releases_the_token_for_the_corrected_form(world, sandbox):
    form = FORMS[4]  # add members: the service refuses while the group is not active
    client = _client(world["user"])
    data = _filled(client, form, world)
    Group.objects.filter(pk=world["group"].pk).update(state=Group.State.CREATING)
    refused = client.post(form.action(world), data)
    assert refused.status_code == 400 and "not active at Kaizala" in refused.content.decode()
    assert form.created() == 0 and FormSubmission.objects.count() == 0

    Group.objects.filter(pk=world["group"].pk).update(state=Group.State.ACTIVE)
    accepted = client.post(form.action(world), data)
    assert accepted.status_code == 302
    assert form.created() == 2


def test_old_claims_are_trimmed_by_the_periodic_task(world):
    old = FormSubmission.objects.create(token="old", user=world["user"], result_url="/a/")
    FormSubmission.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.FORM_TOKEN_HOURS, minutes=1))
    FormSubmission.objects.create(token="new", user=world["user"], result_url="/b/")
    entry = settings.CELERY_BEAT_SCHEDULE["trim-form-submissions"]

    assert entry["task"] == tasks.trim_form_submissions.name
    assert celery_app.tasks[entry["task"]]() == 1  # the registered task, run here

    assert list(FormSubmission.objects.values_list("token", flat=True)) == ["new"]
