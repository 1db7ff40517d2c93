"""A listened-to group without Kaizala: a subscription row made directly, for the receiver's tests."""

import itertools
import json

import pytest

from events.models import Subscription
from tests.security.world import make_world

TOKEN = "callback-token-for-tests-0123456789"
_serial = itertools.count(1)


def make_subscription(state=Subscription.State.ACTIVE, token=TOKEN) -> Subscription:
    """The world's subscription (its group's one), with `state` and `token`, and no events yet."""
    world = make_world()
    world["event"].delete()
    subscription = world["subscription"]
    subscription.callback_token, subscription.state = token, state
    subscription.webhook_id = f"wh-{next(_serial)}"
    subscription.save()
    return subscription


def text_event(event_id: str, text: str = "Hello from a member", **extra) -> dict:
    return {"objectId": "g@1", "objectType": "Group", "eventType": "TextMessageCreated", "eventId": event_id,
            "data": {"text": text}, "fromUser": "+919800011111", "fromUserName": "Asha", **extra}


def deliver(client, subscription, body, token=TOKEN, **headers):
    """POST `body` (a dict is sent as JSON, bytes as they are) the way Kaizala delivers an event."""
    data = body if isinstance(body, bytes) else json.dumps(body)
    if token is not None:
        headers["HTTP_KZ_CALLBACK_TOKEN"] = token
    return client.post(f"/events/hook/{subscription.key}/", data, content_type="application/json", **headers)


@pytest.fixture
def subscription(db):
    return make_subscription()
