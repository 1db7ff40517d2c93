"""After a full run — onboarding through the PIN login, a group, sends, a 401 and a token refresh, a failed
call — no secret appears in any page, log line, error page, API call record or Celery task argument.

Secrets: the connector secret, every refresh and access token the phone user held, the PIN, the Fernet
keys and SECRET_KEY. The raw text of every place is searched."""

import logging
import re

import pytest
from celery.signals import before_task_publish, task_prerun
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client

from accounts.roles import Role
from audit.actor import SYSTEM
from audit.models import AuditRecord
from connectors import services as connector_services
from connectors.models import ApiCall, Connector, PhoneUser
from events.models import Event, Subscription
from groups.models import Group, GroupMember, GroupSubscriber
from messaging import services
from messaging.models import MediaFile, Message, Schedule
from tests.security.test_access_matrix import CONSOLE, MATRIX
from tests.security.world import concrete

MOBILE = "+919876500001"


@pytest.fixture
def task_arguments():
    seen = []

    def prerun(task=None, args=None, kwargs=None, **_):
        seen.append(f"{task.name} {args!r} {kwargs!r}")

    def publish(body=None, headers=None, **_):
        seen.append(f"{body!r} {headers!r}")

    task_prerun.connect(prerun, weak=False)
    before_task_publish.connect(publish, weak=False)
    yield seen
    task_prerun.disconnect(prerun)
    before_task_publish.disconnect(publish)


@pytest.mark.django_db
def test_no_secret_in_pages_logs_error_pages_call_records_or_task_arguments(
    sandbox, make_user, caplog, task_arguments, django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)
    created = sandbox.create_connector(name="Secret connector")
    connector = Connector.objects.create(name="Secret connector", application_id=created["applicationId"],
                                         application_secret=created["applicationSecret"],
                                         auth_base_url=sandbox.base_url)
    secrets = {"connector secret": created["applicationSecret"], "SECRET_KEY": settings.SECRET_KEY,
               **{f"Fernet key {i}": key for i, key in enumerate(settings.FIELD_ENCRYPTION_KEYS)}}

    # Onboarding: the PIN login, through the services; the tasks run inline.
    with django_capture_on_commit_callbacks(execute=True):
        phone_user = connector_services.phone_user_start_onboarding(actor=SYSTEM, connector=connector,
                                                                mobile_number=MOBILE)
    pin = sandbox.latest_pin(MOBILE)
    with django_capture_on_commit_callbacks(execute=True):
        connector_services.phone_user_submit_pin(actor=SYSTEM, phone_user=phone_user, pin=pin)
    phone_user.refresh_from_db()
    assert phone_user.state == PhoneUser.State.ACTIVE
    secrets |= {"refresh token": phone_user.refresh_token, "access token 1": phone_user.access_token}

    reply = sandbox.http.post(f"{phone_user.endpoint_url.rstrip('/')}/v1/groups", timeout=5,
                              headers={"accessToken": phone_user.access_token},
                              json={"name": "Secrets", "welcomeMessage": "hi", "groupType": "Group"})
    group = Group.objects.create(phone_user=phone_user, kaizala_id=reply.json()["groupId"], name="Secrets",
                                 state=Group.State.ACTIVE)

    def send(text):
        services.message_create(actor=SYSTEM, groups=[group], text=text, send_at=None)
        with django_capture_on_commit_callbacks(execute=True):
            services.messages_claim_due()

    send("first")
    sandbox.advance_clock(25 * 3600)  # the access token expires: a 401, a refresh, a retry
    send("after expiry")
    phone_user.refresh_from_db()
    secrets["access token 2"] = phone_user.access_token
    assert secrets["access token 2"] != secrets["access token 1"]
    sandbox.inject_fault(method="POST", path="*/messages", status=500, count=1)
    send("fails")
    sandbox.revoke_token(phone_user.refresh_token)
    send("after revocation")  # 401, the refresh is refused: reauth_required, Kaizala's error on the page
    phone_user.refresh_from_db()
    assert phone_user.state == PhoneUser.State.REAUTH_REQUIRED
    assert Message.objects.filter(status=Message.Status.SENT).count() == 2
    assert ApiCall.objects.count() >= 6

    # Every page, as an Admin (who sees the most), with the objects of this run.
    admin = make_user("secret-admin", Role.ADMIN)
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    member = GroupMember.objects.create(group=group, mobile_number="+919800044444", name="M")
    subscriber = GroupSubscriber.objects.create(group=group, mobile_number="+919800055555", name="S")
    schedule = Schedule.objects.create(text="daily", frequency="daily", local_time="09:00", time_zone="UTC",
                                       start_date="2030-01-01")
    subscription = Subscription.objects.create(group=group, callback_token="callback-token-never-shown-42",
                                               state=Subscription.State.ACTIVE)
    secrets["callBackToken"] = subscription.callback_token
    event = Event.objects.create(subscription=subscription, event_id="secret-scan-event", raw={"eventId": "x"})
    media = MediaFile(name="notes.pdf", content_type="application/pdf", size=17)
    media.file.save("notes.pdf", ContentFile(b"%PDF-1.4 harmless"), save=False)
    media.save()
    world = {"user": admin, "connector": connector, "phone_user": phone_user, "group": group, "member": member,
             "subscriber": subscriber, "message": Message.objects.filter(status="unconfirmed").first(),
             "schedule": schedule, "call": ApiCall.objects.order_by("-pk").first(),
             "subscription": subscription, "event": event, "media": media}
    places = {}
    for name, route in CONSOLE:
        if MATRIX[name]["GET"][3] == 200:
            url = concrete(name, route, world)
            response = client.get(url)
            # The CSV exports are streamed: read them whole, they must not carry a secret either.
            places[f"page {url}"] = (b"".join(response.streaming_content) if response.streaming
                                     else response.content).decode()
    for call in ApiCall.objects.all():
        places[f"api call {call.pk} page"] = client.get(f"/api-calls/{call.pk}/").content.decode()
    for edit in (f"/connectors/{connector.pk}/edit/", f"/phone-users/{phone_user.pk}/"):
        places[f"form {edit}"] = client.get(edit).content.decode()
    # Error pages, with DEBUG off as in production.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "DEBUG", False)
        places["404 page"] = client.get(f"/connectors/{connector.pk + 999}/").content.decode()
        places["405 page"] = client.get(f"/phone-users/{phone_user.pk}/remove/").content.decode()
    places["call records"] = "\n".join(repr(row) for row in ApiCall.objects.values())
    places["audit records"] = "\n".join(repr(row) for row in AuditRecord.objects.values())
    assert AuditRecord.objects.filter(kind="phone_user_onboarded").exists()  # the scan reads real records
    places["log"] = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records) + caplog.text
    places["task arguments"] = "\n".join(task_arguments)
    assert len(places["task arguments"]) > 0 and len(places["log"]) > 0

    leaks = [f"{what} in {where}" for where, text in places.items() for what, secret in secrets.items()
             if secret and secret in text]
    pin_pattern = re.compile(rf"pin\W{{0,12}}{pin}(?!\d)", re.IGNORECASE)
    leaks += [f"PIN in {where}" for where, text in places.items() if pin_pattern.search(text)]
    assert not leaks, leaks
    # The search can find things: the phone number is in the pages and the call records.
    assert MOBILE in places[f"page /phone-users/{phone_user.pk}/"]
    assert "[redacted]" in places["call records"].lower() or "redacted" in places["call records"].lower()
