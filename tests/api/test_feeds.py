"""The feeds another system follows (members' posts, action responses) and a sent action's results, each
made by the real pipeline: events delivered to the receiver and processed, actions posted at the sandbox."""

import pytest

from accounts.roles import Role
from tests.actions.conftest import (
    POLL_CARD,
    add_members,
    deliver_and_process,
    listening,
    member_phone,
    response_event,
    send_action,
)
from tests.events.conftest import deliver, make_subscription, text_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(api):
    return api(Role.VIEWER)


@pytest.fixture
def posted(client, django_capture_on_commit_callbacks):
    """Members write in a listened-to group: `posted(n)` delivers n text events and processes them."""
    subscription = make_subscription()
    serial = iter(range(1, 10_000))

    def post(n):
        for _ in range(n):
            number = next(serial)
            with django_capture_on_commit_callbacks(execute=True):
                raw = text_event(f"feed-{number}", text=f"post {number}")
                assert deliver(client, subscription, raw).status_code == 200

    post.group = subscription.group
    return post


def follow(client, url) -> tuple[list, dict]:
    """Every page from `url` until nothing more is waiting: the rows and the last answer."""
    rows = []
    while True:
        answer = client.get(url)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        rows += body["results"]
        url = body["next"]
        if not body["has_more"]:
            return rows, body


def test_the_post_feed_is_followed_oldest_first_without_gaps_or_repeats(viewer, posted):
    posted(5)
    rows, last = follow(viewer, "/api/v1/posts/?page_size=2")
    assert [r["text"] for r in rows] == [f"post {n}" for n in range(1, 6)]
    assert rows[0]["group"] == posted.group.pk and rows[0]["sender_phone"] == "+919800011111"

    again = viewer.get(last["next"]).json()  # nothing new: an empty page that asks from the same place
    assert again["results"] == [] and again["next"] == last["next"]

    posted(2)  # members write again: following `next` hears exactly the new ones
    newer, _ = follow(viewer, last["next"])
    assert [r["text"] for r in newer] == ["post 6", "post 7"]


def test_the_post_feed_filters_by_group(viewer, posted):
    posted(2)
    assert len(viewer.get(f"/api/v1/posts/?group={posted.group.pk}").json()["results"]) == 2
    assert viewer.get(f"/api/v1/posts/?group={posted.group.pk + 1000}").json()["results"] == []


@pytest.mark.parametrize("query", ["after=-1", "after=x", "after=99999999999999999999", "page_size=0",
                                   "page_size=501", "group=abc", "kind=video-call"])
def test_a_bad_feed_parameter_is_a_400_naming_it(viewer, query):
    answer = viewer.get(f"/api/v1/posts/?{query}")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_error" and query.split("=")[0] in error["fields"]


def test_responses_are_followed_with_the_message_that_posted_the_action(viewer, group, sandbox):
    poll = send_action(group, "poll", POLL_CARD)
    subscription = listening(group)
    for n, choice in ((1, "Pizza"), (2, "Dosa")):
        deliver_and_process(subscription, response_event(poll, response_id=f"r{n}", phone=member_phone(n),
                                                         answers=choice))
    rows, _ = follow(viewer, f"/api/v1/responses/?message={poll.pk}")
    assert [(r["message"], r["responder_phone"], r["answers"]) for r in rows] == [
        (poll.pk, member_phone(1), ["Pizza"]), (poll.pk, member_phone(2), ["Dosa"])]
    assert rows[0]["action_id"] == poll.action_id

    # An edit keeps the row (and its place in the feed); updated_at moves.
    deliver_and_process(subscription, response_event(poll, response_id="r1", phone=member_phone(1),
                                                     answers="Salad", is_update=True))
    edited = viewer.get(f"/api/v1/responses/?message={poll.pk}").json()["results"]
    assert [r["id"] for r in edited] == [r["id"] for r in rows] and edited[0]["answers"] == ["Salad"]
    assert edited[0]["updated_at"] > rows[0]["updated_at"]


def test_a_message_that_posted_no_action_has_no_responses_in_the_feed(viewer, world):
    assert viewer.get(f"/api/v1/responses/?message={world['message'].pk}").json()["results"] == []


def test_results_give_the_counts_and_tallies_of_the_page(viewer, group, sandbox):
    poll = send_action(group, "poll", POLL_CARD)
    add_members(group, [member_phone(n) for n in range(1, 5)])  # four members
    subscription = listening(group)
    for n, choice in ((1, "Pizza"), (2, "Dosa"), (3, "Dosa")):
        deliver_and_process(subscription, response_event(poll, response_id=f"r{n}", phone=member_phone(n),
                                                         answers=choice))
    answer = viewer.get(f"/api/v1/messages/{poll.pk}/results/")
    assert answer.status_code == 200, answer.content
    results = answer.json()
    assert (results["responses"], results["members_answered"], results["member_total"],
            results["response_rate"]) == (3, 3, 4, 75)
    assert [(o["title"], o["count"]) for o in results["questions"][0]["options"]] == [
        ("Pizza", 1), ("Dosa", 2), ("Salad", 0)]
    assert [p["mobile_number"] for p in results["not_answered"]] == [member_phone(4)]
    assert results["is_open"] is True


def test_results_of_a_message_that_is_no_action_are_a_409_saying_why(viewer, world):
    answer = viewer.get(f"/api/v1/messages/{world['message'].pk}/results/")
    assert answer.status_code == 409
    assert answer.json()["error"]["message"].startswith("This message is not a poll")
