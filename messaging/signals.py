"""Hooks other apps subscribe to without messaging importing them.

`message_status_changed` is sent inside the transaction that moves messages into an outcome (sent, failed,
unconfirmed) or cancels them — a send's result, the sweeper giving up on stuck sends, an operator marking
sent or cancelling, one message or many — once per move, and only for rows the compare-and-set moved; so a
receiver's rows (an API callback to deliver, say) commit or roll back with it: an outcome is never recorded
without its events, nor events without it. One signal for all the rows of one move, so that a receiver can
record them in a constant number of queries.
Arguments: `messages` (the rows, as the sender had them with `reference_id` as it is after the move: a list,
or a queryset the receiver reads only if it needs them), `status` (the new status), `changed_at`.
"""

from django.dispatch import Signal

message_status_changed = Signal()
