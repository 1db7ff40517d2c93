"""The client's replyToReferenceId (§19), against the sandbox: the reply is threaded under its post."""

import pytest

from kaizala import BadRequest

from .sandbox_helpers import onboard


def test_send_message_replies_to_a_post(sandbox):
    client = onboard(sandbox, "+911100000011").client
    group = client.create_group("Replies", "Welcome")
    first = client.send_message(group.group_id, "Question")
    reply = client.send_message(group.group_id, "Answer", reply_to_reference_id=first.reference_id)
    recorded = {m["referenceId"]: m for m in sandbox.messages(group.group_id)}
    assert recorded[reply.reference_id]["replyToReferenceId"] == first.reference_id
    assert recorded[first.reference_id]["replyToReferenceId"] is None


def test_a_reply_to_no_post_is_a_bad_request(sandbox):
    client = onboard(sandbox, "+911100000012").client
    group = client.create_group("Replies", "Welcome")
    with pytest.raises(BadRequest):
        client.send_message(group.group_id, "Answer", reply_to_reference_id="nothing-like-it")
