"""Bulk actions on messages (messaging.services.messages_bulk_act): a confirmation saying how many, a result
per row, compare-and-set per row, and a query count that does not grow with the rows."""

import math
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from audit.actor import SYSTEM
from audit.models import AuditRecord
from messaging import services
from messaging.models import Message

pytestmark = pytest.mark.django_db
S = Message.Status


def post(client, **data):
    return client.post(reverse("messaging:bulk"), data)


def test_the_confirmation_says_how_many_and_changes_nothing(client_for, make_messages):
    waiting = make_messages(3)
    sent = make_messages(2, status=S.SENT)
    client = client_for(Role.OPERATOR)
    response = post(client, action="cancel", ids=[m.pk for m in waiting + sent] + [999999])
    page = response.content.decode()
    assert response.status_code == 200
    assert "Cancel: 6 messages?" in page and "3 messages of the 6 chosen will be cancelled." in page
    assert "2 messages sent will be left alone." in page and "1 message no longer exist." in page
    assert Message.objects.filter(status=S.CANCELLED).count() == 0
    assert re.search(r'name="ids" value="[\d,]+"', page) and 'name="confirmed" value="1"' in page


def test_confirmed_cancel_says_what_happened_to_each(client_for, make_messages):
    waiting = make_messages(2)
    failed = make_messages(1, status=S.FAILED)
    client = client_for(Role.OPERATOR)
    ids = [m.pk for m in waiting + failed] + [999999]
    response = post(client, action="cancel", ids=",".join(map(str, ids)), confirmed="1")
    page = response.content.decode()
    outcomes = dict(re.findall(r'data-testid="bulk-outcome" data-pk="(\d+)" data-done="(\d)"', page))
    assert outcomes == {str(waiting[0].pk): "1", str(waiting[1].pk): "1", str(failed[0].pk): "0", "999999": "0"}
    assert "2 cancelled, 2 left alone." in page
    assert "Left alone: only a scheduled, retrying or held message can be cancelled." in page
    assert "No such message." in page
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {S.CANCELLED, S.FAILED}


def test_retry_and_mark_sent_move_only_the_rows_they_apply_to(make_messages):
    failed = make_messages(2, status=S.FAILED, attempt_count=3, last_error="boom")
    unconfirmed = make_messages(2, status=S.UNCONFIRMED)
    chosen = [m.pk for m in failed + unconfirmed]
    outcomes = services.messages_bulk_act(actor=SYSTEM, action="mark-sent", message_ids=chosen)
    assert [o.done for o in outcomes] == [False, False, True, True]
    assert services.messages_bulk_act(actor=SYSTEM, action="retry", message_ids=chosen)[0].done
    failed[0].refresh_from_db()
    assert (failed[0].status, failed[0].attempt_count, failed[0].last_error) == (S.SCHEDULED, 0, "")
    assert Message.objects.get(pk=unconfirmed[0].pk).status == S.SENT  # marked sent first: left alone by retry


def test_a_row_that_moved_on_is_left_alone(make_messages):
    # The compare-and-set: the UPDATE checks the status again; a row sent meanwhile is not cancelled.
    message = make_messages(1)[0]
    Message.objects.filter(pk=message.pk).update(status=S.SENDING)
    [outcome] = services.messages_bulk_act(actor=SYSTEM, action="cancel", message_ids=[message.pk])
    assert not outcome.done and outcome.status_before == "Sending"
    assert Message.objects.get(pk=message.pk).status == S.SENDING


def queries_for(client, ids):
    with CaptureQueriesContext(connection) as queries:
        response = post(client, action="cancel", ids=",".join(map(str, ids)), confirmed="1")
    assert response.status_code == 200
    return len(queries)


def test_a_thousand_messages_in_one_request_cost_the_queries_of_ten(client_for, make_messages):
    client = client_for(Role.OPERATOR)
    client.get(reverse("messaging:list"))  # the session and user are loaded the same way for both
    ten = [m.pk for m in make_messages(10)]
    thousand = [m.pk for m in make_messages(1000)]
    # session, user, profile, two-step devices (2), roles; savepoint, one locked read, one UPDATE, the callback
    # keys for `message.cancelled` (none here: the moved rows are not read again), one INSERT of the audit
    # records, release: for 10 as for 1,000. SQLite splits a bulk INSERT by its variable limit, so there the
    # audit records take one INSERT per batch the backend itself allows.
    batch = connection.ops.bulk_batch_size([f for f in AuditRecord._meta.concrete_fields if not f.primary_key],
                                           [AuditRecord()] * 1000)
    extra = math.ceil(1000 / batch) - 1
    assert queries_for(client, ten) == 12
    assert queries_for(client, thousand) == 12 + extra
    assert Message.objects.filter(pk__in=thousand, status=S.CANCELLED).count() == 1000


def test_cancellations_announced_to_a_callback_cost_the_queries_of_ten_too(client_for, make_messages,
                                                                           django_user_model):
    from api.models import ApiKey, Delivery
    from api.services import api_key_create

    key, _ = api_key_create(owner=django_user_model.objects.create_user("follower"), name="follower", actor=SYSTEM)
    ApiKey.objects.filter(pk=key.pk).update(callback_url="https://receiver.example.org/hook",
                                            callback_events=["message.cancelled"])
    client = client_for(Role.OPERATOR)
    client.get(reverse("messaging:list"))
    ten = [m.pk for m in make_messages(10)]
    thousand = [m.pk for m in make_messages(1000)]

    def extra_inserts(model):  # SQLite splits a bulk INSERT by its variable limit
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        return math.ceil(1000 / connection.ops.bulk_batch_size(fields, [model()] * 1000)) - 1

    # As without a callback, and the moved rows read once and one INSERT of their deliveries.
    assert queries_for(client, ten) == 14
    assert queries_for(client, thousand) == 14 + extra_inserts(AuditRecord) + extra_inserts(Delivery)
    assert Delivery.objects.filter(api_key=key, event_type="message.cancelled").count() == 1010


@pytest.mark.parametrize("data, sees", [
    ({"action": "cancel"}, "Choose at least one message first."),
    ({"action": "explode", "ids": "1"}, "Choose what to do with the chosen messages."),
    ({"action": "cancel", "ids": "1,abc"}, "The chosen messages were not understood"),
    ({"action": "cancel", "ids": "١٢"}, "The chosen messages were not understood"),
    ({"action": "cancel", "ids": ",".join(["1"] * 5001)}, "Choose at most 5000 messages at a time."),
])
def test_bad_input_is_refused_with_a_sentence_and_changes_nothing(client_for, make_messages, data, sees):
    message = make_messages(1)[0]
    client = client_for(Role.OPERATOR)
    response = post(client, confirmed="1", back="?status=scheduled", **data)
    assert response.status_code == 302 and response.url == reverse("messaging:list") + "?status=scheduled"
    assert sees in client.get(response.url).content.decode()
    assert Message.objects.get(pk=message.pk).status == S.SCHEDULED


def test_the_back_link_only_goes_to_the_list(client_for):
    response = post(client_for(Role.OPERATOR), action="cancel", back="https://evil.example/")
    assert response.url == reverse("messaging:list")


def test_the_list_offers_checkboxes_to_operators_only(client_for, make_messages):
    make_messages(2)
    assert 'name="ids"' in client_for(Role.OPERATOR).get(reverse("messaging:list")).content.decode()


def test_viewers_see_no_checkboxes(client_for, make_messages):
    make_messages(2)
    assert 'name="ids"' not in client_for(Role.VIEWER).get(reverse("messaging:list")).content.decode()
