"""Callbacks out: registered per key, signed, one delivery per event, retried until the receiver is back,
never to the console's own network, switched off after repeated failures, seen and replayed on a page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from api import callbacks
from api.models import ApiKey, Delivery
from messaging.models import Message
from tests.api.conftest import ApiClient
from tests.api.receiver import Receiver, verify

pytestmark = pytest.mark.django_db
CALLBACK = "/api/v1/callback/"


@pytest.fixture
def receiver():
    made = Receiver().start()
    yield made
    made.stop()


def register(client: ApiClient, receiver: Receiver, **extra) -> dict:
    response = client.request("PUT", CALLBACK, {"url": receiver.url, **extra})
    assert response.status_code == 200, response.content
    receiver.secret = response.json()["secret"]
    return response.json()


def record_sent(world, n: int = 1) -> None:
    """As the send path does: the outcome's hook inside its transaction (deliveries sent after commit)."""
    from messaging.signals import message_status_changed

    for _ in range(n):
        message_status_changed.send(sender=Message, messages=[world["message"]], status="sent",
                                    changed_at=timezone.now())


def deliver_due():
    for pk in Delivery.objects.filter(state="pending").values_list("pk", flat=True):
        callbacks.delivery_send_run(pk)


def test_register_shows_the_secret_once(api, receiver):
    client = api(Role.OPERATOR)
    registered = register(client, receiver, events=["message.sent"])
    assert registered["secret"].startswith("whsec_") and registered["events"] == ["message.sent"]
    shown = client.get(CALLBACK).json()
    assert shown["url"] == receiver.url and "secret" not in shown
    with connection.cursor() as cursor:  # the column as stored: encrypted
        cursor.execute("SELECT callback_secret FROM api_apikey")
        stored = cursor.fetchone()[0]
    assert stored and registered["secret"] not in stored
    assert client.delete(CALLBACK).status_code == 204
    assert client.get(CALLBACK).status_code == 404


def test_a_viewer_key_cannot_register(api, receiver):
    assert api(Role.VIEWER).request("PUT", CALLBACK, {"url": receiver.url}).status_code == 403


def test_a_delivery_is_signed_and_verified_by_an_independent_receiver(api, world, receiver,
                                                                     django_capture_on_commit_callbacks):
    register(api(Role.OPERATOR), receiver)
    with django_capture_on_commit_callbacks(execute=True):  # the deliver task runs after commit (eager)
        record_sent(world)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got["signed"], got["headers"]
    assert got["event"]["type"] == "message.sent" and got["event"]["data"]["message"]["id"] == world["message"].pk
    assert got["headers"]["X-Console-Delivery"] == got["event"]["id"]
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count, delivery.last_status) == ("delivered", 1, 200)
    # The check can fail: another body under the same signature is refused.
    assert not verify(receiver.secret, got["headers"]["X-Console-Signature"], b'{"forged": true}')


def test_a_receiver_that_is_down_gets_every_event_later_once(api, world, settings, time_machine):
    down = Receiver()  # its port is chosen, nothing listens yet
    register(api(Role.OPERATOR), down)
    record_sent(world, 3)
    deliver_due()
    assert set(Delivery.objects.values_list("state", "attempt_count")) == {("pending", 1)}
    assert all(d.attempts.get().error == "The receiver could not be reached." for d in Delivery.objects.all())
    deliver_due()  # not due yet: the back-off holds them
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}
    down.start()
    try:
        time_machine.move_to(timezone.now() + timedelta(seconds=settings.API_CALLBACK_BACKOFF_BASE + 1))
        assert callbacks.deliveries_sweep()["enqueued"] == 3  # the sweeper finds them (tasks eager)
        deliver_due()
        callbacks.deliveries_sweep()
    finally:
        down.stop()
    events = sorted(Delivery.objects.values_list("event_id", flat=True))
    assert sorted(down.event_ids()) == sorted(str(e) for e in events)  # none lost, none twice
    assert all(r["signed"] for r in down.received)
    assert set(Delivery.objects.values_list("state", "attempt_count")) == {("delivered", 2)}


def test_a_worker_that_died_mid_send_is_freed_by_the_sweeper(api, world, receiver, settings, time_machine):
    register(api(Role.OPERATOR), receiver)
    record_sent(world)
    Delivery.objects.update(state="sending", state_changed_at=timezone.now())
    assert callbacks.deliveries_sweep() == {"enqueued": 0, "freed": 0}
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.API_CALLBACK_SENDING_TIMEOUT + 1))
    assert callbacks.deliveries_sweep()["freed"] == 1
    assert Delivery.objects.get().state == "delivered" and len(receiver.received) == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://[::1]/x", "http://localhost/x", "ftp://example.org/x"])
def test_callbacks_into_the_console_s_own_network_are_refused(api, settings, url):
    settings.API_CALLBACK_ALLOW_PRIVATE = False
    response = api(Role.OPERATOR).request("PUT", CALLBACK, {"url": url})
    assert response.status_code == 400 and "url" in response.json()["error"]["fields"], response.content
    assert not ApiKey.objects.exclude(callback_url="").exists()


def test_the_address_is_checked_again_at_send_time(api, world, receiver, settings):
    register(api(Role.OPERATOR), receiver)  # allowed then (DEBUG); the rule tightened since
    settings.API_CALLBACK_ALLOW_PRIVATE = False
    record_sent(world)
    deliver_due()
    assert receiver.received == []
    assert "own network" in Delivery.objects.get().attempts.get().error


def test_a_callback_is_switched_off_after_repeated_failures(api, world, settings):
    settings.API_CALLBACK_MAX_ATTEMPTS, settings.API_CALLBACK_DISABLE_AFTER = 1, 2
    failing = Receiver(status=500).start()
    try:
        register(api(Role.OPERATOR), failing)
        record_sent(world, 2)
        deliver_due()
        assert list(Delivery.objects.values_list("state", flat=True)) == ["failed", "failed"]
        assert "answered 500" in Delivery.objects.first().last_error
        assert ApiKey.objects.get().callback_disabled_at is not None
        record_sent(world)
        assert Delivery.objects.count() == 2  # switched off: no new delivery
    finally:
        failing.stop()


def test_only_the_subscribed_event_types_are_delivered(api, world, receiver):
    register(api(Role.OPERATOR), receiver, events=["message.failed"])
    record_sent(world)
    assert not Delivery.objects.exists()


def test_the_deliveries_page_shows_and_replays(api, world, receiver, client_for, django_capture_on_commit_callbacks):
    register(api(Role.OPERATOR), receiver)
    record_sent(world)
    deliver_due()
    admin = client_for(Role.ADMIN)
    page = admin.get(reverse("api:deliveries")).content.decode()
    assert "message.sent" in page and "200 in" in page
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(reverse("api:delivery_replay", args=[delivery.pk])).status_code == 302
    assert len(receiver.received) == 2 and receiver.received[0]["event"]["id"] == receiver.received[1]["event"]["id"]
    bad = admin.get(reverse("api:deliveries") + "?state=nope").content.decode()
    assert "is not valid and was ignored" in bad


def test_an_api_message_arrives_once_at_the_sandbox_and_its_sent_event_is_signed(
        api, group, sandbox, receiver, django_capture_on_commit_callbacks):
    """The issue's "done when", in-process: API call → dispatcher → the sandbox → a signed "sent" callback."""
    from messaging import services as messaging_services

    client = api(Role.OPERATOR)
    register(client, receiver)
    made = client.post("/api/v1/messages/", {"groups": [group.pk], "text": "From the HR system"},
                       headers={"Idempotency-Key": "done-when"})
    assert made.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):  # the send and the delivery tasks, eagerly
        messaging_services.dispatch()
    assert [m["text"] for m in sandbox.messages(group.kaizala_id)] == ["From the HR system"]
    [got] = receiver.received
    assert got["signed"] and got["event"]["type"] == "message.sent"
    message = got["event"]["data"]["message"]
    assert message["id"] == made.json()["messages"][0]["id"] and message["reference_id"]


def test_inbound_posts_and_action_responses_reach_the_callback_once_each(api, receiver, client,
                                                                        django_capture_on_commit_callbacks):
    from tests.events.conftest import deliver as deliver_event
    from tests.events.conftest import make_subscription, text_event

    register(api(Role.OPERATOR), receiver, events=["post.created", "action.response"])
    subscription = make_subscription()
    response = {"eventId": "cb-resp", "eventType": "SurveyResponse", "fromUser": "+919800011111",
                "fromUserName": "Asha", "data": {"actionId": "survey-1", "responseDetails": {"q1": "Yes"}}}
    with django_capture_on_commit_callbacks(execute=True):  # processing, then the deliveries (eager)
        for body in (text_event("cb-post", text="Hello console"), response, text_event("cb-post")):  # a redelivery
            assert deliver_event(client, subscription, body).status_code == 200
    received = {got["event"]["type"]: got for got in receiver.received}
    assert len(receiver.received) == 2 and set(received) == {"post.created", "action.response"}
    assert all(got["signed"] for got in receiver.received)
    post = received["post.created"]["event"]["data"]["post"]
    assert (post["event_id"], post["text"], post["sender_phone"], post["group"]) == (
        "cb-post", "Hello console", "+919800011111", subscription.group_id)
    answer = received["action.response"]["event"]["data"]["response"]
    assert (answer["action_id"], answer["event_type"], answer["data"]["responseDetails"]) == (
        "survey-1", "SurveyResponse", {"q1": "Yes"})


def test_a_key_not_subscribed_to_posts_gets_no_post_event(api, receiver, client, django_capture_on_commit_callbacks):
    from tests.events.conftest import deliver as deliver_event
    from tests.events.conftest import make_subscription, text_event

    register(api(Role.OPERATOR), receiver, events=["message.sent"])
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_event(client, make_subscription(), text_event("cb-quiet")).status_code == 200
    assert not Delivery.objects.exists() and receiver.received == []


def _events():
    return sorted((d.event_type, d.payload["data"]["message"]["id"]) for d in Delivery.objects.all())


def test_the_sweeper_giving_up_on_a_stuck_send_announces_unconfirmed_once(api, world, receiver, settings):
    from messaging import services as messaging_services

    register(api(Role.OPERATOR), receiver)
    message = world["message"]
    long_ago = timezone.now() - timedelta(seconds=settings.SENDING_TIMEOUT + 60)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, status_changed_at=long_ago)
    assert messaging_services.messages_sweep()["unconfirmed"] == 1
    assert messaging_services.messages_sweep()["unconfirmed"] == 0  # moved once: announced once
    assert _events() == [("message.unconfirmed", message.pk)]


def test_an_operator_marking_sent_or_cancelling_announces_it_once(api, world, receiver):
    from audit.actor import SYSTEM
    from messaging import services as messaging_services

    register(api(Role.OPERATOR), receiver)
    message = world["message"]
    Message.objects.filter(pk=message.pk).update(status=Message.Status.UNCONFIRMED)
    messaging_services.message_mark_sent(message=message, actor=SYSTEM)
    with pytest.raises(messaging_services.ComposeError):  # already sent: nothing moves, nothing announced
        messaging_services.message_mark_sent(message=message, actor=SYSTEM)
    assert _events() == [("message.sent", message.pk)]
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SCHEDULED)
    messaging_services.message_cancel(message=message, actor=SYSTEM)
    with pytest.raises(messaging_services.ComposeError):  # already cancelled
        messaging_services.message_cancel(message=message, actor=SYSTEM)
    assert _events() == [("message.cancelled", message.pk), ("message.sent", message.pk)]
    cancelled = Delivery.objects.get(event_type="message.cancelled").payload["data"]["message"]
    assert (cancelled["status"], cancelled["reference_id"]) == ("cancelled", "")


def _copy(message, status) -> Message:
    from messaging import services as messaging_services

    copy = Message.objects.get(pk=message.pk)
    copy.pk, copy.broadcast_id, copy.status = None, messaging_services.uuid.uuid4(), status
    copy.save()
    return copy


def test_a_bulk_cancel_and_the_cancel_of_held_messages_announce_each_moved_message_once(api, world, receiver):
    from audit.actor import SYSTEM
    from messaging import services as messaging_services

    register(api(Role.OPERATOR), receiver, events=["message.cancelled"])
    scheduled, sent = world["message"], _copy(world["message"], Message.Status.SENT)
    outcomes = messaging_services.messages_bulk_act(action="cancel", message_ids=[scheduled.pk, sent.pk],
                                                    actor=SYSTEM)
    assert [o.done for o in outcomes] == [True, False]
    held, other_held = _copy(scheduled, Message.Status.HELD), _copy(scheduled, Message.Status.HELD)
    assert messaging_services.messages_cancel_held(connector=world["connector"], actor=SYSTEM) == 2
    assert messaging_services.messages_cancel_held(actor=SYSTEM) == 0  # moved once: announced once
    assert _events() == sorted([("message.cancelled", pk) for pk in (scheduled.pk, held.pk, other_held.pk)])


def test_a_bulk_mark_sent_announces_each_moved_message_once(api, world, receiver):
    from audit.actor import SYSTEM
    from messaging import services as messaging_services

    register(api(Role.OPERATOR), receiver)
    first = world["message"]
    Message.objects.filter(pk=first.pk).update(status=Message.Status.UNCONFIRMED)
    second = _copy(first, Message.Status.SCHEDULED)
    outcomes = messaging_services.messages_bulk_act(action="mark-sent", message_ids=[first.pk, second.pk],
                                                    actor=SYSTEM)
    assert [o.done for o in outcomes] == [True, False]
    messaging_services.messages_bulk_act(action="mark-sent", message_ids=[first.pk], actor=SYSTEM)
    assert _events() == [("message.sent", first.pk)]
