"""The response events, registered with the events app's processing (it sits below this app)."""

from actions import services
from events import signals
from events.models import Event
from events.processing import handles

# §14.5 names the first three; the Postman collection and the sandbox also send the last two. One answer
# comes as the generic ActionResponse and its specific event: both land on the same response row.
RESPONSE_EVENTS = ("ActionResponse", "SurveyResponse", "JobResponse", "PollResponse", "LetsMeetResponse")


def _lock_order(event: Event) -> tuple[str, str, str]:
    data = event.raw.get("data") if isinstance(event.raw, dict) else None
    data = data if isinstance(data, dict) else {}
    details = data.get("responseDetails")
    inner = details.get("response") if isinstance(details, dict) else None
    # A JobResponse names its assignee inside the response (§14.7), not as `responder`.
    responder = data.get("responder") or (inner.get("assignee") if isinstance(inner, dict) else None)
    return (str(data.get("actionId") or ""), str(responder or ""), str(data.get("responseId") or ""))


def responses_received(events: list[Event]) -> None:
    """A batch of response events in one transaction. Two batches may hold the same responses and counts:
    each locks its response rows in one global order (action, responder, responseId) and the running counts
    only at its end, once per action in action order, so two batches never wait on each other in a circle."""
    deltas_by_action: dict[str, dict[str, int]] = {}
    for event in sorted(events, key=_lock_order):
        services.response_from_event(event, deltas_by_action=deltas_by_action)
    for action_id in sorted(deltas_by_action):
        services.counts_apply(action_id, deltas_by_action[action_id])
    # Announced for the API's callbacks (action.response), in the same transaction.
    signals.action_responses_received.send(sender=Event, events=events)


@handles(*RESPONSE_EVENTS, batch=responses_received)
def response_event(event: Event) -> None:
    responses_received([event])
