"""Hooks other apps subscribe to without messaging importing them.

`message_status_changed` is sent inside the transaction that moves a message into an outcome (sent, failed,
unconfirmed) or cancels it — a send's result, the sweeper giving up on a stuck send, an operator marking it
sent or cancelling it — once per move, and only when the compare-and-set moved it; so a receiver's rows (an
API callback to deliver, say) commit or roll back with it: an outcome is never recorded without its events,
nor events without it.
Arguments: `message` (the row as the sender had it, before this change), `status` (the new status),
`changed_at`, `reference_id` (Kaizala's id of the sent message, or "").
"""

from django.dispatch import Signal

message_status_changed = Signal()
