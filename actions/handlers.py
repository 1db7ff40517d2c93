"""The response events, registered with the events app's processing (it sits below this app)."""

from actions import services
from events import signals
from events.models import Event
from events.processing import handles

# §14.5 names the first three; the Postman collection and the sandbox also send the last two. One answer
# comes as the generic ActionResponse and its specific event: both land on the same response row.
RESPONSE_EVENTS = ("ActionResponse", "SurveyResponse", "JobResponse", "PollResponse", "LetsMeetResponse")


@handles(*RESPONSE_EVENTS)
def response_event(event) -> None:
    services.response_from_event(event)
    # Announced for the API's callbacks (action.response), in the same transaction.
    signals.action_responses_received.send(sender=Event, events=[event])
