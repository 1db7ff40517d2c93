"""Idempotency-Key: the same key and body get the first answer and create nothing; another body is a 409;
a refused request claims nothing; keys are per API key and forgotten after API_IDEMPOTENCY_HOURS."""

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from api import services
from api.models import IdempotencyRecord
from connectors.models import PhoneUser
from messaging.models import Message
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db
MESSAGES = "/api/v1/messages/"


def body(world, text="Pay day"):
    return {"groups": [world["group"].pk], "text": text}


def test_the_same_key_and_body_get_the_first_answer_and_create_nothing(api, world):
    client = api(Role.OPERATOR)
    first = client.post(MESSAGES, body(world), headers={"Idempotency-Key": "payroll-2026-11"})
    again = client.post(MESSAGES, body(world), headers={"Idempotency-Key": "payroll-2026-11"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(text="Pay day").count() == 1


def test_the_same_key_with_another_body_is_a_conflict(api, world):
    client = api(Role.OPERATOR)
    client.post(MESSAGES, body(world), headers={"Idempotency-Key": "k1"})
    other = client.post(MESSAGES, body(world, "Another text"), headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "conflict"
    assert not Message.objects.filter(text="Another text").exists()


def test_a_refused_request_claims_nothing(api, world):
    client = api(Role.OPERATOR)
    refused = client.post(MESSAGES, body(world, ""), headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 400
    fixed = client.post(MESSAGES, body(world, "Fixed"), headers={"Idempotency-Key": "k2"})
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed


def test_a_service_refusal_rolls_its_claim_back(api, world):
    client = api(Role.OPERATOR)
    # The form lets the group through; the service refuses it (its phone user must log in again): 409.
    PhoneUser.objects.filter(pk=world["phone_user"].pk).update(state=PhoneUser.State.REAUTH_REQUIRED)
    refused = client.post(MESSAGES, body(world), headers={"Idempotency-Key": "k3"})
    assert refused.status_code == 409 and "re-authentication" in refused.json()["error"]["message"]
    assert not IdempotencyRecord.objects.exists()
    PhoneUser.objects.filter(pk=world["phone_user"].pk).update(state=PhoneUser.State.ACTIVE)
    assert client.post(MESSAGES, body(world), headers={"Idempotency-Key": "k3"}).status_code == 201


def test_actions_record_no_key(api, world):
    # Only the creates (messages, groups, members) keep keys: an action is safe to repeat by its state rules.
    url = f"/api/v1/messages/{world['message'].pk}/cancel/"
    assert api(Role.OPERATOR).post(url, headers={"Idempotency-Key": "k4"}).status_code == 200
    assert not IdempotencyRecord.objects.exists()


def test_keys_belong_to_their_api_key(api, world):
    one, two = api(Role.OPERATOR), api(Role.OPERATOR)
    assert one.post(MESSAGES, body(world), headers={"Idempotency-Key": "same"}).status_code == 201
    assert two.post(MESSAGES, body(world), headers={"Idempotency-Key": "same"}).status_code == 201
    assert Message.objects.filter(text="Pay day").count() == 2


def test_an_overlong_key_is_refused(api, world):
    response = api(Role.OPERATOR).post(MESSAGES, body(world), headers={"Idempotency-Key": "x" * 256})
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Message.objects.filter(text="Pay day").exists()


def test_keys_are_forgotten_after_their_time(api, world, time_machine):
    client = api(Role.OPERATOR)
    client.post(MESSAGES, body(world), headers={"Idempotency-Key": "old"})
    assert services.idempotency_records_trim() == 0
    time_machine.move_to(timezone.now() + timedelta(hours=settings.API_IDEMPOTENCY_HOURS, minutes=1))
    assert services.idempotency_records_trim() == 1
    assert "api.tasks.trim_idempotency_records" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_clients_with_one_key_make_one_message(api_key_for):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    from tests.security.world import make_world

    world = make_world()
    raw = api_key_for(Role.OPERATOR)
    barrier, answers = threading.Barrier(20), []

    def send():
        try:
            barrier.wait(timeout=30)
            response = ApiClient(raw).post(MESSAGES, body(world, "Once"), headers={"Idempotency-Key": "storm"})
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 20
    assert Message.objects.filter(text="Once").count() == 1
    assert {status for status, _ in answers} == {201}
    # Every client got the first answer (compared as JSON: the stored copy's keys come back in another order).
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
