"""Member and subscriber states in the console's badge colours (the shared `state_badge` knows the
group, message and phone-user states)."""

from django import template

register = template.Library()

_AS_CONSOLE_STATE = {"added": "active", "pending": "queued", "removing": "queued", "changing_role": "queued"}


@register.filter
def badge_state(value: str) -> str:
    return _AS_CONSOLE_STATE.get(value, value)
