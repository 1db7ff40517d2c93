"""What each event type does once processed: posts, the member list, action events kept, echoes of our own."""

import pytest

from events import services
from events.models import Event, InboundPost
from groups.models import GroupMember
from messaging.models import Message
from tests.events.conftest import deliver, make_subscription, text_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    subscription = make_subscription()

    def deliver_and_process(raw):
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, subscription, raw).status_code == 200
        return Event.objects.get(event_id=raw["eventId"])

    deliver_and_process.subscription = subscription
    return deliver_and_process


def test_a_text_from_a_member_becomes_an_inbound_post(send):
    event = send(text_event("t-1") | {"data": {
        "text": "Need more <b>seeds</b>", "referenceId": "ref-member-1"}})
    post = InboundPost.objects.get(event=event)
    assert (post.group_id, post.kind, post.sender_phone, post.sender_name) == (
        send.subscription.group_id, "text", "+919800011111", "Asha")
    assert post.text == "Need more <b>seeds</b>" and post.reference_id == "ref-member-1"
    assert post.posted_at == event.received_at


def test_processing_again_never_shows_a_post_twice(send):
    event = send(text_event("t-twice"))
    Event.objects.filter(pk=event.pk).update(processed_at=None)
    assert services.event_process(event.pk) is True
    assert InboundPost.objects.filter(event=event).count() == 1


def test_an_attachment_keeps_http_links_only(send):
    event = send({"eventId": "a-1", "eventType": "AttachmentCreated", "fromUser": "+919800011111", "data": {
        "actionType": "Image", "caption": "Field photo", "media": [
            {"mediaUrl": "https://media.example.org/p.jpg", "mediaFileName": "p.jpg"},
            {"mediaUrl": "javascript:alert(1)", "mediaFileName": "evil"}, "not-an-object"]}})
    post = InboundPost.objects.get(event=event)
    assert post.kind == "attachment" and post.text == "Field photo"
    assert post.media == [{"url": "https://media.example.org/p.jpg", "name": "p.jpg"}]


def test_an_announcement_keeps_its_title(send):
    event = send({"eventId": "an-1", "eventType": "Announcement", "fromUser": "+919800011111",
                  "data": {"title": "Holiday", "text": "Closed on Friday", "media": []}})
    post = InboundPost.objects.get(event=event)
    assert (post.kind, post.title, post.text) == ("announcement", "Holiday", "Closed on Friday")


def test_our_own_send_echoed_back_is_not_shown_twice(send):
    group = send.subscription.group
    Message.objects.filter(group=group).update(reference_id="ref-ours-1", status=Message.Status.SENT)
    event = send(text_event("echo-1", fromUser=group.phone_user.mobile_number) | {"data": {
        "text": "Hello", "referenceId": "ref-ours-1"}})
    assert event.processed_at is not None and not event.error
    assert not InboundPost.objects.exists()


def test_an_echo_that_outruns_the_recorded_reference_id_is_ours_too(send):
    group = send.subscription.group
    Message.objects.filter(group=group).update(text="Going out now", status=Message.Status.SENDING, reference_id="")
    send(text_event("echo-2", fromUser=group.phone_user.mobile_number) | {"data": {
        "text": "Going out now", "referenceId": "ref-not-yet-recorded"}})
    # The same text from someone else is theirs.
    send(text_event("not-echo", fromUser="+919800099999") | {"data": {"text": "Going out now", "referenceId": "r9"}})
    assert list(InboundPost.objects.values_list("sender_phone", flat=True)) == ["+919800099999"]


def test_member_added_and_removed_follow_the_member_list(send):
    group = send.subscription.group
    before = group.member_count
    send({"eventId": "m-1", "eventType": "MemberAdded", "fromUser": "+919800011111",
          "data": {"member": "+919811100000", "memberName": "Ravi", "type": "Member"}})
    member = GroupMember.objects.get(group=group, mobile_number="+919811100000")
    assert member.name == "Ravi" and member.state == GroupMember.State.ADDED
    group.refresh_from_db()
    assert group.member_count == before + 1
    send({"eventId": "m-2", "eventType": "MemberRemoved", "fromUser": "+919800011111",
          "data": {"member": "+919811100000"}})
    assert not GroupMember.objects.filter(group=group, mobile_number="+919811100000").exists()
    group.refresh_from_db()
    assert group.member_count == before


def test_a_member_event_without_a_member_fails_with_a_sentence(send):
    event = send({"eventId": "m-bad", "eventType": "MemberAdded", "data": {}})
    assert event.failed and "names no member" in event.error


def test_action_events_are_kept_by_action_id(send):
    for n, kind in enumerate(("PollCreated", "ActionResponse", "SurveyResponse")):
        send({"eventId": f"act-{n}", "eventType": kind, "data": {"actionId": "action-42", "responder": "+91980"}})
    kept = Event.objects.filter(action_id="action-42")
    assert kept.count() == 3 and all(e.processed_at and not e.error for e in kept)
    assert not InboundPost.objects.exists()
