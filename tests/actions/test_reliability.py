"""1,000 answers to a poll arrive as webhook events (two per answer, the generic and the poll's own) over
real HTTP from eight senders, 10 % of them delivered twice, while a "Refresh from Kaizala" reads the same
answers from the sandbox in the middle: exactly 1,000 responses are counted, each option's tally is right,
every event is stored once."""

import json
import random
import threading
from collections import Counter

import pytest
import requests
from django.db.models import Count

from accounts.roles import Role
from actions import services
from actions.models import ActionCount, ActionResponse, ActionWork, ResponseChoice
from audit.actor import SYSTEM
from events.models import Event
from tests.actions.conftest import POLL_CARD, listening, member_phone, response_event

pytestmark = pytest.mark.django_db(transaction=True)
N = 1000


def test_a_thousand_answers_with_redeliveries_and_a_refresh_are_counted_once_each(
        live_server, sandbox, poll, client_for):
    group = poll.group
    subscription = listening(group)
    choices = POLL_CARD["choices"]
    http = requests.Session()
    control = f"{sandbox.base_url}/_sandbox/groups/{group.kaizala_id}"
    chosen = {}
    for n in range(N):
        phone = member_phone(n)
        http.post(f"{control}/join", json={"mobileNumber": phone}, timeout=10).raise_for_status()
        chosen[phone] = choices[n % 3]
        http.post(f"{control}/actions/{poll.action_id}/answer", json={"from": phone, "answer": chosen[phone]},
                  timeout=10).raise_for_status()
    from connectors.kaizala_access import call_as

    rows = call_as(group.phone_user, lambda c: c.get_action(group.kaizala_id, poll.action_id)).body["responses"]
    assert len(rows) == N
    # Each answer comes as the generic ActionResponse and as PollResponse (two events, as the sandbox sends
    # them): both land on one response, often at the same moment from two senders.
    events = [response_event(poll, response_id=r["responseId"], phone=r["responder"], answers=r["answers"],
                             event_type=event_type) for r in rows for event_type in ("ActionResponse", "PollResponse")]
    rng = random.Random(15)
    deliveries = events + rng.sample(events, len(events) // 10)  # 10 % delivered a second time
    rng.shuffle(deliveries)

    url = f"{live_server.url}/events/hook/{subscription.key}/"
    statuses, lock, half = Counter(), threading.Lock(), threading.Event()
    queue = iter(deliveries)

    def sender():
        session = requests.Session()
        while True:
            with lock:
                body = next(queue, None)
            if body is None:
                return
            reply = session.post(url, data=json.dumps(body), timeout=60, headers={
                "Content-Type": "application/json", "kz-callback-token": subscription.callback_token})
            with lock:
                statuses[reply.status_code] += 1
                if sum(statuses.values()) >= len(deliveries) // 2:
                    half.set()

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    half.wait(timeout=300)
    services.action_refresh(message=poll, actor=SYSTEM)  # eager: the worker's half runs here, now
    for thread in threads:
        thread.join(timeout=600)

    assert statuses == {200: len(deliveries)}, statuses
    work = ActionWork.objects.get(message=poll)
    assert work.refreshed_at is not None and work.refresh_error == "", work.refresh_error
    assert Event.objects.filter(subscription=subscription).count() == 2 * N
    assert not Event.objects.filter(subscription=subscription).exclude(error="").exists()
    assert ActionResponse.objects.filter(action_id=poll.action_id).count() == N
    assert ResponseChoice.objects.filter(action_id=poll.action_id).count() == N
    tally = dict(ResponseChoice.objects.filter(action_id=poll.action_id).values_list("option")
                 .annotate(n=Count("id")).values_list("option", "n"))
    expected = Counter(choices.index(c) for c in chosen.values())
    assert tally == dict(expected)
    running = dict(ActionCount.objects.filter(action_id=poll.action_id).values_list("name", "count"))
    assert running == {"responses": N, **{f"q0.{o}": n for o, n in expected.items()}}, running
    assert set(ActionResponse.objects.filter(action_id=poll.action_id).values_list("source", flat=True)) <= {
        "event", "refresh"}
    page = client_for(Role.VIEWER).get(f"/actions/{poll.pk}/live/").content.decode()
    assert f'data-testid="response-count">{N}<' in page
