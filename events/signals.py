"""Hooks other apps subscribe to without events importing them.

Both are sent inside the transaction that marks the events processed, so a receiver's rows (API callbacks
to deliver) commit or roll back with the processing: processed once, announced once.
- `posts_created`: `posts` (the InboundPost rows made; bulk-created, so without their ids).
- `action_responses_received`: `events` (the stored *Response events).
"""

from django.dispatch import Signal

posts_created = Signal()
action_responses_received = Signal()
