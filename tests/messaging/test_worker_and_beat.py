"""With a real worker and beat on the real Redis broker, against the sandbox over HTTP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actor import SYSTEM
from messaging import services
from messaging.models import Message
from tests.fixtures.celery_worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_message_scheduled_seconds_ahead_arrives_once_and_on_time(group, sandbox, celery_beat):
    due = timezone.now() + timedelta(seconds=4)
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="on the dot", send_at=due)
    wait_for(lambda: Message.objects.get(pk=message.pk).status == Message.Status.SENT, timeout=20,
             message="the scheduled message to be sent")
    # Once: every send first claims the message (queued → sending) and records an attempt before calling
    # Kaizala, and `sent` is final, so one attempt on a sent message is the whole story. Kaizala's own log
    # agrees: one send call.
    assert Message.objects.get(pk=message.pk).attempts.count() == 1
    assert len(sandbox.calls(route="sendMessage")) == 1
    arrived = sandbox.messages(group.kaizala_id)
    assert [m["text"] for m in arrived] == ["on the dot"]
    lateness = arrived[0]["arrivedAt"] - due.timestamp()
    assert 0 <= lateness <= 2.0, f"arrived {lateness:.2f} s after its time"


def test_200_messages_due_at_once_all_arrive_exactly_once(make_group, sandbox, celery_beat):
    groups = [make_group(f"G{i}") for i in range(4)]
    texts = [f"batch message {i}" for i in range(200)]
    for i, text in enumerate(texts):
        services.message_create(actor=SYSTEM, groups=[groups[i % 4]], text=text, send_at=None)
    wait_for(lambda: Message.objects.filter(status=Message.Status.SENT).count() == 200, timeout=90,
             message="all 200 messages to be sent")
    arrived = [m["text"] for g in groups for m in sandbox.messages(g.kaizala_id)]
    assert sorted(arrived) == sorted(texts)
