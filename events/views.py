"""Pages of the stored events. Thin: rules are in services; no Kaizala call is made here."""

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import Role, read_only_page, role_required
from events import selectors, services
from events.filters import STATES, EventFilter
from events.models import Event
from kaizala_console.filters import filter_list

PAGE_SIZE = 50


def _event_or_404(pk) -> Event:
    event = selectors.event_list().filter(pk=pk).defer(None).first()
    if event is None:
        raise Http404("No such event.")
    return event


@read_only_page
def event_list(request):
    listing = filter_list(EventFilter, request, selectors.event_list().order_by("-id"))
    rows = list(listing.qs[:PAGE_SIZE + 1])
    filters = {key: (listing.form.data.get(key) or "").strip() for key in ("state", "type")}
    return render(request, "events/event_list.html", {
        "events": rows[:PAGE_SIZE], "older": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
        "filters": filters, "filter_notes": listing.notes, "states": STATES,
    })


@read_only_page
def event_detail(request, pk):
    event = _event_or_404(pk)
    return render(request, "events/event_detail.html", {
        "event": event, "raw": json.dumps(event.raw, indent=2, ensure_ascii=False, sort_keys=True),
    })


@role_required(Role.OPERATOR)
@require_POST
def event_process_again(request, pk):
    event = _event_or_404(pk)
    try:
        services.event_process_again(event=event)
    except services.EventError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, "Processing again…")
    return redirect("events:detail", pk=pk)
