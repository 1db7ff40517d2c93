"""Redis holds nothing the database cannot replace: work whose task a flushed broker lost is found again
by a sweeper (or ended with a sentence where redoing it blindly would be wrong)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actor import SYSTEM
from connectors import services as connector_services
from connectors.models import PhoneUser
from messaging import services
from messaging.models import Message

State = PhoneUser.State
pytestmark = pytest.mark.django_db


def age(phone_user, minutes=6):
    PhoneUser.objects.filter(pk=phone_user.pk).update(state_changed_at=timezone.now() - timedelta(minutes=minutes))


def test_a_pin_request_whose_task_was_lost_ends_with_a_sentence_and_can_be_sent_again(connector,
                                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as lost:  # the broker lost the task
        phone_user = connector_services.phone_user_start_onboarding(
            actor=SYSTEM, connector=connector, mobile_number="+919811111111")
    assert len(lost) == 1
    assert connector_services.phone_users_sweep() == 0  # in flight, not stuck yet
    age(phone_user)
    assert connector_services.phone_users_sweep() == 1
    phone_user.refresh_from_db()
    assert phone_user.state == State.PIN_FAILED
    assert phone_user.last_error == "The PIN request did not finish (the worker stopped); send the PIN again."
    connector_services.phone_user_resend_pin(actor=SYSTEM, phone_user=phone_user)  # the page's next move works
    assert PhoneUser.objects.get(pk=phone_user.pk).state == State.PIN_REQUESTED


def test_lost_login_steps_end_where_the_page_offers_the_next_move(connector, phone_user):
    checking = PhoneUser.objects.create(connector=connector, mobile_number="+919822222222", state=State.VERIFYING,
                                        pin="123456")
    fetching = PhoneUser.objects.create(connector=connector, mobile_number="+919833333333", state=State.VERIFYING,
                                        refresh_token="a-refresh-token")
    waiting_for_pin = PhoneUser.objects.create(connector=connector, mobile_number="+919844444444",
                                               state=State.PIN_REQUESTED, pin_sent_at=timezone.now())
    for row in (checking, fetching, waiting_for_pin, phone_user):
        age(row)
    assert connector_services.phone_users_sweep() == 2
    checking.refresh_from_db()
    fetching.refresh_from_db()
    assert (checking.state, checking.pin) == (State.PIN_FAILED, "")
    assert checking.last_error == "The PIN check did not finish (the worker stopped); send a new PIN."
    assert fetching.state == State.LOGIN_FAILED
    assert "retry" in fetching.last_error
    assert PhoneUser.objects.get(pk=waiting_for_pin.pk).state == State.PIN_REQUESTED  # a person types the PIN
    assert PhoneUser.objects.get(pk=phone_user.pk).state == State.ACTIVE


def test_a_message_whose_send_task_was_lost_is_sent_by_the_sweeper(group, sandbox,
                                                                    django_capture_on_commit_callbacks):
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="after a flush", send_at=None)
    with django_capture_on_commit_callbacks(execute=False) as lost:
        services.dispatch()
    assert lost and Message.objects.get(pk=message.pk).status == Message.Status.QUEUED
    later = timezone.now() + timedelta(seconds=200)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.messages_sweep(now=later)["requeued"] == 1
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENT
    assert [m["text"] for m in sandbox.messages(group.kaizala_id)] == ["after a flush"]


def test_the_phone_user_sweeper_runs_every_minute(settings):
    from kaizala_console.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-phone-users"]
    assert (entry["task"], entry["schedule"]) == ("connectors.tasks.sweep", 60.0)
    assert entry["task"] in app.tasks
