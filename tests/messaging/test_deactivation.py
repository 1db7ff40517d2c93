"""A deactivated connector sends nothing: its due messages are held (and say why), go out when it is
reactivated or are cancelled in bulk; its tokens are not refreshed; its phone users are not offered.
Against the sandbox over real HTTP; tasks eager, except the one test with a real worker and beat."""

import re
from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.actor import SYSTEM
from connectors import services as connector_services
from connectors.models import Connector, PhoneUser
from messaging import services
from messaging.models import Message, Schedule
from messaging.recurrence import DAILY, Rule
from tests.fixtures.celery_worker import wait_for

pytestmark = pytest.mark.django_db
Status = Message.Status


def sends(sandbox) -> int:
    return len(sandbox.calls(route="sendMessage"))


def options_of(page: str, name: str) -> str:
    match = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert match, f"no {name} menu on the page"
    return match[0]


def set_active(connector, active: bool) -> None:
    assert connector_services.connector_set_active(actor=SYSTEM, connector=connector, active=active)


def test_a_due_message_of_a_deactivated_connector_is_held_then_sent_on_reactivation(group, dispatch, sandbox):
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="held back", send_at=None)
    set_active(group.phone_user.connector, False)
    assert dispatch() == 0
    message.refresh_from_db()
    assert message.status == Status.HELD
    assert "connector is deactivated" in message.hold_reason
    assert message.attempts.count() == 0 and sends(sandbox) == 0
    assert dispatch() == 0 and Message.objects.get(pk=message.pk).status == Status.HELD  # stays held

    set_active(group.phone_user.connector, True)
    assert dispatch() == 1
    message.refresh_from_db()
    assert message.status == Status.SENT, message.last_error
    assert message.hold_reason == ""
    assert [m["text"] for m in sandbox.messages(group.kaizala_id)] == ["held back"]


def test_a_send_queued_before_the_deactivation_is_held_at_send_time(group, sandbox,
                                                                     django_capture_on_commit_callbacks):
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="queued", send_at=None)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert services.messages_claim_due() == [message.pk]
    assert Message.objects.get(pk=message.pk).status == Status.QUEUED
    set_active(group.phone_user.connector, False)  # while the send task waits in the broker
    for callback in enqueued:
        callback()  # the worker takes the task now
    message.refresh_from_db()
    assert message.status == Status.HELD
    assert message.attempts.count() == 0 and sends(sandbox) == 0


def test_a_recurring_schedule_keeps_firing_into_held_messages(group, dispatch, sandbox):
    schedule = services.schedule_create(actor=SYSTEM, groups=[group], text="daily",
                                        rule=Rule(DAILY, time(9, 0), "UTC", timezone.localdate()))
    set_active(group.phone_user.connector, False)
    fire_at = schedule.next_fire_at
    dispatch(fire_at + timedelta(seconds=1))
    [message] = Message.objects.filter(schedule=schedule)
    assert message.status == Status.HELD
    schedule.refresh_from_db()
    assert schedule.state == Schedule.State.ACTIVE and schedule.next_fire_at == fire_at + timedelta(days=1)
    assert sends(sandbox) == 0


def test_held_messages_are_cancelled_in_bulk_after_asking(make_group, dispatch, sandbox, client_for):
    a, b = make_group("A"), make_group("B")
    services.message_create(actor=SYSTEM, groups=[a, b], text="both", send_at=None)
    connector = a.phone_user.connector
    set_active(connector, False)
    dispatch()
    assert Message.objects.filter(status=Status.HELD).count() == 2
    client = client_for(Role.OPERATOR)
    url = reverse("messaging:cancel_held")

    asked = client.get(url, {"connector": connector.pk}).content.decode()
    assert "2 held messages" in asked and "Test connector" in asked
    assert client.post(url, {"connector": connector.pk}).status_code == 200  # not confirmed: asks again
    assert Message.objects.filter(status=Status.HELD).count() == 2

    response = client.post(url, {"connector": connector.pk, "confirmed": "1"})
    assert response.status_code == 302
    assert "2 held messages cancelled" in client.get(response["Location"]).content.decode()
    assert Message.objects.filter(status=Status.CANCELLED).count() == 2
    set_active(connector, True)
    assert dispatch() == 0 and sends(sandbox) == 0  # cancelled stays cancelled after the reactivation


def test_cancel_held_for_an_unknown_or_active_connector_is_not_found(client_for, connector):
    client = client_for(Role.OPERATOR)
    for value in ("abc", "99999999999999999999999", str(connector.pk)):  # connector: active, so nothing held
        assert client.get(reverse("messaging:cancel_held"), {"connector": value}).status_code == 404


def test_the_deactivate_page_says_first_what_it_will_hold(group, make_group, client_for, sandbox):
    other = make_group("Other")
    services.message_create(actor=SYSTEM, groups=[group, other], text="later",
                            send_at=timezone.now() + timedelta(hours=1))
    services.schedule_create(actor=SYSTEM, groups=[group], text="daily",
                             rule=Rule(DAILY, time(9, 0), "UTC", date.today()))
    connector = group.phone_user.connector
    client = client_for(Role.ADMIN)
    url = reverse("connectors:deactivate", args=[connector.pk])

    page = client.get(url).content.decode()
    assert "2 scheduled messages to its groups will be held" in page
    assert "1 recurring schedule to its groups keep firing" in page
    assert client.post(url).status_code == 200  # a POST without the confirmation only asks
    assert Connector.objects.get(pk=connector.pk).is_active

    assert client.post(url, {"confirmed": "1"}).status_code == 302
    assert not Connector.objects.get(pk=connector.pk).is_active
    reactivate = client.get(reverse("connectors:activate", args=[connector.pk])).content.decode()
    assert "0 held messages go out now" in reactivate


def test_a_deactivated_connectors_tokens_are_not_refreshed(connector, onboard, sandbox):
    phone_user = onboard(connector)
    PhoneUser.objects.filter(pk=phone_user.pk).update(access_token_expires_at=timezone.now() + timedelta(minutes=1))
    set_active(connector, False)
    before = len(sandbox.calls(route="accessToken"))
    assert connector_services.tokens_refresh_expiring() == 0
    with pytest.raises(connector_services.ConnectorInactive):
        connector_services.phone_user_refresh_access_token(phone_user_id=phone_user.pk, failed_token="x")
    assert len(sandbox.calls(route="accessToken")) == before


def test_phone_users_and_groups_of_a_deactivated_connector_are_not_offered(group, client_for):
    set_active(group.phone_user.connector, False)
    client = client_for(Role.OPERATOR)
    create_page = client.get(reverse("groups:create")).content.decode()
    assert f'<option value="{group.phone_user.pk}"' not in options_of(create_page, "phone_user")
    compose_page = client.get(reverse("messaging:compose")).content.decode()
    # The groups are a checklist (one box per sendable group).
    assert 'data-testid="group-picker"' in compose_page and f'name="groups" value="{group.pk}"' not in compose_page
    response = client.post(reverse("messaging:compose"), {"groups": [group.pk], "text": "x", "when": "now"})
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(services.ComposeError, match="is deactivated"):
        services.message_create(actor=SYSTEM, groups=[group], text="x", send_at=None)
    assert Message.objects.count() == 0


def test_a_phone_user_of_a_deactivated_connector_is_not_offered_to_send_through(group, sandbox):
    from groups.forms import SenderForm
    from groups.models import GroupAccess

    created = sandbox.create_connector(name="Other")
    other = Connector.objects.create(name="Other", application_id=created["applicationId"],
                                     application_secret=created["applicationSecret"], auth_base_url=sandbox.base_url)
    elsewhere = PhoneUser.objects.create(connector=other, mobile_number="+919811111111", state=PhoneUser.State.ACTIVE)
    for phone_user in (group.phone_user, elsewhere):
        GroupAccess.objects.get_or_create(group=group, phone_user=phone_user)
    set_active(other, False)
    offered = SenderForm(group=group).fields["phone_user"].queryset
    assert group.phone_user in offered and elsewhere not in offered
    assert not SenderForm({"phone_user": elsewhere.pk}, group=group).is_valid()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_nothing_goes_out_through_a_deactivated_connector(group, sandbox, celery_beat):
    connector = group.phone_user.connector
    [message] = services.message_create(actor=SYSTEM, groups=[group], text="through a real worker",
                                        send_at=timezone.now() + timedelta(seconds=3))
    set_active(connector, False)  # before it is due
    wait_for(lambda: Message.objects.get(pk=message.pk).status == Status.HELD, timeout=20,
             message="the message to be held")
    assert sends(sandbox) == 0 and Message.objects.get(pk=message.pk).attempts.count() == 0
    set_active(connector, True)
    wait_for(lambda: Message.objects.get(pk=message.pk).status == Status.SENT, timeout=20,
             message="the held message to be sent after the reactivation")
    assert sends(sandbox) == 1


def test_group_tasks_change_nothing_at_kaizala_through_a_deactivated_connector(group, phone_user, sandbox,
                                                                               django_capture_on_commit_callbacks):
    from groups import services as group_services
    from groups.models import Group

    set_active(phone_user.connector, False)
    calls_before = len(sandbox.calls())
    group_services.group_refresh_run(group.pk)
    assert "is deactivated" in Group.objects.get(pk=group.pk).last_error
    with django_capture_on_commit_callbacks(execute=True):
        created = group_services.group_create(actor=SYSTEM, phone_user=phone_user,
                                              name="Through a deactivated connector",
                                              welcome_message="Hi")
    created.refresh_from_db()
    assert created.state == Group.State.FAILED and "is deactivated" in created.last_error
    assert len(sandbox.calls()) == calls_before  # not one call reached Kaizala


def test_the_pin_login_asks_nothing_of_kaizala_through_a_deactivated_connector(connector, sandbox,
                                                                               django_capture_on_commit_callbacks):
    mobile = "+919812300001"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        waiting = connector_services.phone_user_start_onboarding(actor=SYSTEM, connector=connector,
                                                                 mobile_number=mobile)
    set_active(connector, False)  # while the PIN request waits in the broker
    for callback in queued:
        callback()
    waiting.refresh_from_db()
    assert waiting.state == PhoneUser.State.PIN_FAILED and "deactivated" in waiting.last_error
    assert sandbox.calls(route="generatePin") == [] and sandbox.pins(mobile) == []
    for refused in (lambda: connector_services.phone_user_resend_pin(actor=SYSTEM, phone_user=waiting),
                    lambda: connector_services.phone_user_submit_pin(actor=SYSTEM, phone_user=waiting, pin="1234")):
        with pytest.raises(connector_services.OnboardingError, match="deactivated"):
            refused()
    assert PhoneUser.objects.get(pk=waiting.pk).state == PhoneUser.State.PIN_FAILED
