"""Pages of the stored events. Thin: rules are in services; no Kaizala call is made here."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.roles import Role, read_only_page, role_required
from audit.actor import actor_from_request
from events import selectors, services
from events.filters import STATES, EventFilter, InboxFilter, inbox_cursor
from events.forms import CursorForm, ReplyForm
from events.models import Event, InboundPost
from groups import selectors as group_selectors
from groups.models import Group
from kaizala_console.confirm import is_confirmed, render_confirm
from kaizala_console.filters import filter_list
from kaizala_console.submit_once import submit_once

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
        services.event_process_again(event=event, actor=actor_from_request(request))
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
    group = Group.objects.filter(pk=pk).first()
    if group is None:
        raise Http404("No such group.")
    return _back_to_group(request, pk, lambda: services.subscription_create(
        group=group, actor=actor_from_request(request)), "Asking Kaizala to deliver this group's events…")


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
        actor=actor_from_request(request),
        subscription=subscription), "Stopping…")


@role_required(Role.OPERATOR)
@require_POST
def subscription_reenable(request, pk):
    subscription = _subscription_or_404(pk)
    return _back_to_group(request, subscription.group_id, lambda: services.subscription_reenable(
        actor=actor_from_request(request),
        subscription=subscription), "Asking Kaizala to deliver again…")


# --- the conversation of a group, and the Inbox ------------------------------------------------------


def _group_or_404(pk):
    group = Group.objects.select_related("phone_user").filter(pk=pk).first()
    if group is None:
        raise Http404("No such group.")
    return group


def _conversation_context(request, group):
    cursor = CursorForm(request.GET)
    before = cursor.before_time()
    items, older = selectors.conversation(group, before=before)
    return {"group": group, "items": items, "older": older, "latest": before is None}


@read_only_page
def conversation(request, pk):
    group = _group_or_404(pk)
    context = _conversation_context(request, group)
    target = CursorForm(request.GET).reply_target()
    original = _original(group, target) if target else None
    context |= {"reply_form": ReplyForm(initial={"target": target}) if original else None, "original": original,
                "listening": selectors.group_listening(group)}
    return render(request, "events/conversation.html", context)


@read_only_page
def conversation_items(request, pk):
    """The latest items, polled by the page every second (htmx), so new posts appear without a reload."""
    group = _group_or_404(pk)
    return render(request, "events/partials/conversation_items.html", _conversation_context(request, group))


def _original(group, target: str):
    """The post or message `target` ("post-<id>" / "message-<id>") names in this group, or None."""
    from messaging.models import Message

    kind, pk = target.split("-")
    model = InboundPost if kind == "post" else Message
    return model.objects.filter(group=group, pk=int(pk)).first()


@role_required(Role.OPERATOR)
@require_POST
def conversation_reply(request, pk):
    group = _group_or_404(pk)
    form = ReplyForm(request.POST)
    valid = form.is_valid()
    target = form.cleaned_data.get("target", "")
    original = _original(group, target) if target else None
    if original is None:
        messages.error(request, "Choose a post to answer (its Reply link) and write the reply.")
        return redirect("events:conversation", pk=pk)
    if not valid:
        messages.error(request, "The reply was not sent: " + " ".join(form.errors.get("text", [])))
        return redirect(f"{reverse('events:conversation', args=[pk])}?reply_to={target}#reply")

    def reply():
        kind = "post" if isinstance(original, InboundPost) else "message"
        services.post_reply(actor=actor_from_request(request), group=group, text=form.cleaned_data["text"],
                            created_by=request.user, **{kind: original})
        messages.info(request, "Reply queued; it appears below as it is sent.")
        return redirect("events:conversation", pk=pk)

    try:
        return submit_once(request, reply)
    except (services.EventError, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(f"{reverse('events:conversation', args=[pk])}?reply_to={form.cleaned_data['target']}")


@read_only_page
def inbox(request):
    listing = filter_list(InboxFilter, request, selectors.inbox())
    rows = list(listing.qs[:PAGE_SIZE + 1])
    page = rows[:PAGE_SIZE]
    filters = {key: (listing.form.data.get(key) or "").strip() for key in ("group", "since", "until", "q")}
    return render(request, "events/inbox.html", {
        "posts": page, "older": inbox_cursor(page[-1]) if len(rows) > PAGE_SIZE else "",
        "seen_up_to": selectors.inbox_seen_up_to(request.user), "filters": filters, "filter_notes": listing.notes,
        # The group menu's options come when it is opened (groups:menu): only the chosen group here.
        "chosen_group": group_selectors.group_chosen(filters["group"]),
        "newest": page[0].pk if page else 0,
    })


@require_POST
def inbox_mark_read(request):
    """Any console user marks their own Inbox read (a personal marker, not a change to the console)."""
    try:
        up_to = int(request.POST.get("up_to", ""))
    except ValueError:
        up_to = -1
    if 0 <= up_to < 10**18:
        services.inbox_mark_read(user=request.user, up_to=up_to)
    return redirect("events:inbox")
