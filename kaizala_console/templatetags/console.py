"""Template helpers shared by every page."""

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html

from kaizala_console import submit_once

register = template.Library()

_CLASS_BY_WIDGET = {"select": "form-select", "selectmultiple": "form-select", "checkbox": "form-check-input"}


@register.filter
def bootstrap(field):
    """Render a bound field's widget with Bootstrap's class, marked invalid when it has errors."""
    css = _CLASS_BY_WIDGET.get(field.widget_type, "form-control")
    if field.errors:
        css += " is-invalid"
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})


_BADGE_BY_STATE = {
    "active": "success", "verified": "success", "sent": "success",
    "pin_requested": "info", "verifying": "info", "queued": "info", "sending": "info", "scheduled": "primary",
    "creating": "info", "unverified": "secondary", "cancelled": "secondary",
    "retrying": "warning", "unconfirmed": "warning", "reauth_required": "warning", "held": "warning",
    "pin_failed": "danger", "login_failed": "danger", "rejected": "danger", "failed": "danger",
}


@register.simple_tag
def state_badge(value, label=None):
    """A coloured badge for any state or status value; unknown values are grey. Built here, not by an inclusion
    template: a list shows one per row, and a sub-template per row was a visible part of a page's time."""
    return format_html('<span class="badge text-bg-{}">{}</span>', _BADGE_BY_STATE.get(value, "secondary"),
                       label or value)


_paths: dict[tuple, str] = {}


@register.simple_tag(takes_context=True)
def nav_item(context, label, name):
    """A navbar link to the page named `name`, marked as the current one on that page. Every page shows seven:
    the path of each is reversed once per URL configuration and script prefix, not on every page."""
    key = (get_urlconf(), get_script_prefix(), name)
    href = _paths.get(key)
    if href is None:
        href = _paths[key] = reverse(name)
    if context["request"].path == href:
        return format_html('<li class="nav-item"><a class="nav-link active" aria-current="page" href="{}">{}</a></li>',
                           href, label)
    return format_html('<li class="nav-item"><a class="nav-link" href="{}">{}</a></li>', href, label)


@register.simple_tag(takes_context=True)
def one_time_token(context):
    """The hidden one-time token of a create form (kaizala_console/submit_once.py): fresh on each render."""
    return format_html('<input type="hidden" name="{}" value="{}">', submit_once.FIELD,
                       submit_once.issue_token(context["request"].user))


@register.filter
def iso_datetime(value):
    """A card's ISO 8601 time (as it is stored and sent) as a datetime, so `date` shows it in the viewer's zone;
    anything unreadable comes back as it was."""
    from django.utils.dateparse import parse_datetime

    try:
        return parse_datetime(value) or value if isinstance(value, str) else value
    except ValueError:
        return value
