"""The conversation page of a group, replies, the Inbox, and the dashboard's additions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Profile
from accounts.roles import Role
from events.models import Event, InboundPost, Subscription
from groups.models import Group
from messaging.models import Message
from tests.events.conftest import make_subscription
from tests.form_token import form_token

pytestmark = pytest.mark.django_db


def post(group, text, *, at, sender="+919800011111", name="Asha", reference_id="", n=[0]):  # noqa: B006
    n[0] += 1
    subscription = group.subscriptions.first()
    event = Event.objects.create(subscription=subscription, event_id=f"conv-{n[0]}", raw={}, processed_at=at)
    return InboundPost.objects.create(event=event, group=group, text=text, sender_phone=sender, sender_name=name,
                                      posted_at=at, reference_id=reference_id or f"ref-{n[0]}")


def ours(group, text, *, at, **fields):
    return Message.objects.create(group=group, text=text, broadcast_id="00000000-0000-0000-0000-000000000009",
                                  status=fields.pop("status", Message.Status.SENT), due_at=at, scheduled_for=at,
                                  sent_at=at, status_changed_at=at, **fields)


@pytest.fixture
def group():
    subscription = make_subscription()
    group = subscription.group
    Message.objects.filter(group=group).delete()
    return group


def test_ours_and_inbound_in_time_order_newest_at_the_bottom_in_the_admins_time_zone(group, client_for):
    client = client_for(Role.VIEWER)
    Profile.objects.update_or_create(user_id=client.session["_auth_user_id"], defaults={"time_zone": "Asia/Kolkata"})
    t0 = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    post(group, "first <script>alert(1)</script>", at=t0, name="<img src=x onerror=alert(2)>")
    ours(group, "second, ours", at=t0 + timedelta(minutes=1), reference_id="ref-ours")
    post(group, "third", at=t0 + timedelta(minutes=2))
    page = client.get(f"/events/groups/{group.pk}/conversation/").content.decode()
    assert page.index("first &lt;script&gt;") < page.index("second, ours") < page.index("third")
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "&lt;img src=x" in page
    assert (t0 + timedelta(hours=5, minutes=30)).strftime("%H:%M") in page  # 10:00 UTC is 15:30 in Kolkata
    assert "Sent" in page and 'hx-trigger="every 1s"' in page


def test_the_conversation_pages_by_cursor_without_overlap(group, client_for):
    client = client_for(Role.VIEWER)
    t0 = timezone.now() - timedelta(hours=2)
    for k in range(35):
        post(group, f"post-{k:02d}.", at=t0 + timedelta(minutes=2 * k))
        ours(group, f"ours-{k:02d}.", at=t0 + timedelta(minutes=2 * k + 1))
    first = client.get(f"/events/groups/{group.pk}/conversation/")
    older = first.context["older"]
    assert len(first.context["items"]) == 50 and older
    second = client.get(f"/events/groups/{group.pk}/conversation/", {"before": older})
    texts = [(i.ours or i.post).text for i in second.context["items"] + first.context["items"]]
    assert texts == [text for k in range(35) for text in (f"post-{k:02d}.", f"ours-{k:02d}.")]
    assert second.context["older"] == "" and 'hx-trigger' not in second.content.decode()
    # A cursor that is not one is dropped: the latest page.
    assert client.get(f"/events/groups/{group.pk}/conversation/", {"before": "x'; --"}).status_code == 200


def test_a_reply_to_a_post_is_a_message_with_its_reference(group, client_for):
    client = client_for(Role.OPERATOR)
    original = post(group, "Need seeds", at=timezone.now(), reference_id="ref-member-9")
    url = f"/events/groups/{group.pk}/conversation/?reply_to=post-{original.pk}"
    token = form_token(client, url)
    response = client.post(f"/events/groups/{group.pk}/conversation/reply/",
                           {"target": f"post-{original.pk}", "text": "Coming tomorrow", **token})
    assert response.status_code == 302
    reply = Message.objects.get(group=group, text="Coming tomorrow")
    assert reply.reply_to_reference_id == "ref-member-9" and reply.subscribers == []
    # The same form again creates nothing more.
    client.post(f"/events/groups/{group.pk}/conversation/reply/",
                {"target": f"post-{original.pk}", "text": "Coming tomorrow", **token})
    assert Message.objects.filter(group=group, text="Coming tomorrow").count() == 1


def test_a_reply_in_a_public_group_carries_the_same_subscribers(group, client_for):
    Group.objects.filter(pk=group.pk).update(group_type=Group.Type.CONNECT_GROUP)
    client = client_for(Role.OPERATOR)
    theirs = post(group, "From a subscriber", at=timezone.now(), sender="+919800033333")
    mine = ours(group, "To two", at=timezone.now(), reference_id="ref-to-two", subscribers=["+91981", "+91982"])
    for target, text in ((f"post-{theirs.pk}", "to the sender"), (f"message-{mine.pk}", "to the same two")):
        token = form_token(client, f"/events/groups/{group.pk}/conversation/?reply_to={target}")
        client.post(f"/events/groups/{group.pk}/conversation/reply/", {"target": target, "text": text, **token})
    assert Message.objects.get(text="to the sender").subscribers == ["+919800033333"]
    assert Message.objects.get(text="to the same two").subscribers == ["+91981", "+91982"]


def test_a_reply_to_another_groups_post_or_to_nothing_is_refused(group, client_for):
    client = client_for(Role.OPERATOR)
    other = make_subscription().group
    foreign = post(other, "elsewhere", at=timezone.now())
    before = Message.objects.count()
    for target in (f"post-{foreign.pk}", "post-999999", "nonsense"):
        response = client.post(f"/events/groups/{group.pk}/conversation/reply/", {"target": target, "text": "x"},
                               follow=True)
        assert "Choose a post to answer" in response.content.decode()
    assert Message.objects.count() == before


def test_the_inbox_filters_searches_and_marks_unread(group, client_for):
    client = client_for(Role.VIEWER)
    other = make_subscription().group
    now = timezone.now()
    post(group, "Seeds are late", at=now - timedelta(hours=3))
    post(other, "Rain tomorrow", at=now - timedelta(minutes=5))
    page = client.get("/events/inbox/")
    assert [p.text for p in page.context["posts"]] == ["Rain tomorrow", "Seeds are late"]
    assert page.content.decode().count('data-testid="unread"') == 2
    assert [p.text for p in client.get("/events/inbox/", {"q": "seeds"}).context["posts"]] == ["Seeds are late"]
    assert [p.text for p in client.get("/events/inbox/", {"group": other.pk}).context["posts"]] == ["Rain tomorrow"]
    since = (now - timedelta(hours=1)).isoformat()
    assert [p.text for p in client.get("/events/inbox/", {"since": since}).context["posts"]] == ["Rain tomorrow"]
    bad = client.get("/events/inbox/", {"group": "x", "before": "nope"})
    assert bad.status_code == 200 and len(bad.context["posts"]) == 2 and bad.context["filter_notes"]

    client.post("/events/inbox/read/", {"up_to": page.context["newest"]})
    assert 'data-testid="unread"' not in client.get("/events/inbox/").content.decode()
    post(group, "Another", at=timezone.now())
    assert client.get("/events/inbox/").content.decode().count('data-testid="unread"') == 1


def test_the_inbox_pages_by_cursor(group, client_for, settings):
    client = client_for(Role.VIEWER)
    at = timezone.now()
    for k in range(60):
        post(group, f"p{k}", at=at)  # one instant: the id breaks the tie
    first = client.get("/events/inbox/")
    second = client.get("/events/inbox/", {"before": first.context["older"]})
    seen = [p.pk for p in first.context["posts"]] + [p.pk for p in second.context["posts"]]
    assert len(seen) == 60 == len(set(seen)) and second.context["older"] == ""


def test_the_dashboard_counts_posts_and_lists_subscriptions_needing_attention(group, client_for):
    post(group, "recent", at=timezone.now())
    post(group, "old", at=timezone.now() - timedelta(hours=2))
    broken = make_subscription(state=Subscription.State.DISABLED)
    page = client_for(Role.VIEWER).get("/").content.decode()
    assert "1 post from members" in page
    assert 'data-testid="attention-subscription"' in page and broken.group.name in page


@pytest.mark.parametrize(("text", "says"), [("", "required"), ("\u200b\u200b", "no visible characters"),
                                             ("x" * 4001, "at most 4000")])
def test_a_reply_without_readable_text_is_refused_with_a_sentence(group, client_for, text, says):
    client = client_for(Role.OPERATOR)
    original = post(group, "Question", at=timezone.now())
    token = form_token(client, f"/events/groups/{group.pk}/conversation/?reply_to=post-{original.pk}")
    before = Message.objects.count()
    response = client.post(f"/events/groups/{group.pk}/conversation/reply/",
                           {"target": f"post-{original.pk}", "text": text, **token}, follow=True)
    assert says in response.content.decode() and Message.objects.count() == before
