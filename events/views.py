"""Pages of the stored events. Thin: rules are in services; no Kaizala call is made here."""

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.roles import Role, read_only_page, role_required
from events import selectors, services
from events.filters import STATES, EventFilter
from events.models import Event
from kaizala_console.confirm import is_confirmed, render_confirm
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


# --- listening to a group -------------------------------------------------------------------------


def _back_to_group(request, group_pk, action, success: str):
    try:
        action()
    except services.EventError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, success)
    return redirect("groups:detail", pk=group_pk)


@role_required(Role.OPERATOR)
@require_POST
def group_listen(request, pk):
    from groups.models import Group

    group = Group.objects.filter(pk=pk).first()
    if group is None:
        raise Http404("No such group.")
    return _back_to_group(request, pk, lambda: services.subscription_create(group=group),
                          "Asking Kaizala to deliver this group's events…")


def _subscription_or_404(pk):
    subscription = selectors.subscription(pk)
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


@role_required(Role.OPERATOR)
def subscription_stop(request, pk):
    subscription = _subscription_or_404(pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title="Stop listening", question=f"Stop listening to “{subscription.group.name}”?",
            effects=["The webhook at Kaizala is deleted: new posts, answers and member changes of this group "
                     "no longer reach the console.", "What was received so far stays."],
            confirm_label="Stop listening", cancel_url=reverse("groups:detail", args=[subscription.group_id]))
    return _back_to_group(request, subscription.group_id, lambda: services.subscription_remove(
        subscription=subscription), "Stopping…")


@role_required(Role.OPERATOR)
@require_POST
def subscription_reenable(request, pk):
    subscription = _subscription_or_404(pk)
    return _back_to_group(request, subscription.group_id, lambda: services.subscription_reenable(
        subscription=subscription), "Asking Kaizala to deliver again…")
