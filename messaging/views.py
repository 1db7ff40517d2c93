"""Message and schedule pages. Thin: rules are in services, reads in selectors."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Role, read_only_page, role_required
from accounts.timezones import user_time_zone_name
from audit.actor import actor_from_request
from audit.selectors import history_for
from connectors import selectors as connector_selectors
from groups import selectors as group_selectors
from kaizala_console.bulk import selected_ids
from kaizala_console.confirm import is_confirmed, render_confirm
from kaizala_console.exports import csv_response
from kaizala_console.filters import filter_list
from kaizala_console.keyset import keyset_page
from kaizala_console.menus import select_options
from kaizala_console.submit_once import submit_once
from messaging import selectors, services
from messaging.filters import MessageFilter
from messaging.forms import ComposeForm, EditMessageForm, HeldFilterForm, ScheduleEditForm
from messaging.models import MAX_TEXT, Message, Schedule
from messaging.recurrence import next_fires

PAGE_SIZE = 50
# The list order (Meta.ordering, index msg_list_order_idx), ending in a unique field for the cursor.
MESSAGE_ORDER = ("-due_at", "-id")


@read_only_page
def message_list(request):
    listing = filter_list(MessageFilter, request, selectors.message_page())
    # What the menus show as chosen: the values that were kept (a bad one was dropped with a note).
    filters = {key: listing.form.data.get(key, "") for key in ("q", "status", "group", "phone_user", "from", "to",
                                                                "broadcast", "created_by")}
    return render(request, "messaging/message_list.html", {
        "page": keyset_page(request, listing.qs, order=MESSAGE_ORDER, size=PAGE_SIZE, date_field="due_at"),
        "filters": filters,
        "filter_notes": listing.notes, "statuses": Message.Status.choices,
        # The group and phone-user menus' options come when they are opened (groups:menu,
        # connectors:phone_user_menu): only the chosen ones here.
        "chosen_group": group_selectors.group_chosen(filters["group"]),
        "chosen_phone_user": connector_selectors.phone_user_chosen(filters["phone_user"]),
        "creator_options": select_options(get_user_model().objects.order_by("username").values_list(
            "id", "username"), filters["created_by"]),
    })


EXPORT_COLUMNS = [
    ("id", "id"), ("group", "group__name"), ("group Kaizala id", "group__kaizala_id"), ("text", "text"),
    ("status", "status"), ("scheduled for", "scheduled_for"), ("due", "due_at"), ("sent", "sent_at"),
    ("attempts", "attempt_count"), ("last error", "last_error"), ("Kaizala reference", "reference_id"),
    ("broadcast", "broadcast_id"), ("schedule", "schedule_id"), ("created", "created_at"),
]


@read_only_page
def message_export(request):
    """The message list as CSV, its filters (and search) applied, streamed."""
    listing = filter_list(MessageFilter, request, selectors.message_list())
    if listing.notes:  # the list page says which filter was ignored; an export does not guess
        return redirect(f"{reverse('messaging:list')}?{request.GET.urlencode()}")
    return csv_response(filename="messages.csv", columns=EXPORT_COLUMNS, queryset=listing.qs, order=MESSAGE_ORDER)


@role_required(Role.OPERATOR)
def compose(request):
    zone = user_time_zone_name(request.user)
    initial = {"groups": [request.GET["group"]]} if request.GET.get("group", "").isdigit() else {}
    if request.GET.get("kind") in Message.Kind.values:
        initial["kind"] = request.GET["kind"]
    form = ComposeForm(request.POST or None, request.FILES or None, time_zone=zone, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            return submit_once(request, lambda: _compose_create(request, form))
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "messaging/compose.html", {"form": form, "time_zone": zone, "max_text": MAX_TEXT,
                                                      "media_max_bytes": settings.MEDIA_MAX_BYTES})


def _compose_create(request, form):
    data = form.cleaned_data
    what = {"kind": data["kind"], "card": data.get("card") or {}, "upload": data.get("upload")}
    if data["when"] == ComposeForm.RECURRING:
        schedule = services.schedule_create(groups=list(data["groups"]), text=data["text"], rule=data["rule"],
                                            audience=form.audience(), created_by=request.user,
                                            actor=actor_from_request(request), **what)
        flash.success(request, "Recurring schedule saved.")
        return redirect("messaging:schedule", pk=schedule.pk)
    created = services.message_create(
        groups=list(data["groups"]), text=data["text"],
        send_at=data["send_at"] if data["when"] == ComposeForm.ONCE else None,
        audience=form.audience(), created_by=request.user, actor=actor_from_request(request), **what,
    )
    noun = "message" if data["kind"] == Message.Kind.TEXT else Message.Kind(data["kind"]).label.lower()
    flash.success(request, f"{len(created)} {noun}{'s' if len(created) != 1 else ''} "
                  f"{'scheduled' if data['when'] == ComposeForm.ONCE else 'on the way'}.")
    if len(created) == 1:
        return redirect("messaging:detail", pk=created[0].pk)
    return redirect(f"{reverse('messaging:list')}?broadcast={created[0].broadcast_id}")


@role_required(Role.OPERATOR)
@require_POST
def compose_preview(request):
    """The card as it will look, from the compose form's fields (htmx, while the admin types): nothing saved.
    The file is not sent with it; the page names the chosen file itself."""
    form = ComposeForm(request.POST, time_zone=user_time_zone_name(request.user), preview=True)
    form.is_valid()
    kind = form.cleaned_data.get("kind") or request.POST.get("kind") or Message.Kind.TEXT
    fields = set(ComposeForm.KIND_FIELDS.get(kind, ())) | ({"text"} if kind == Message.Kind.TEXT else set())
    problems = [e for name, errors in form.errors.items() if name in fields for e in errors]
    if kind == Message.Kind.SURVEY:
        problems += list(form.non_field_errors())
    return render(request, "messaging/partials/card_preview.html", {
        "kind": kind, "kind_label": dict(Message.Kind.choices).get(kind, kind), "problems": problems,
        "card": form.cleaned_data.get("card") or {}, "text": form.cleaned_data.get("text") or "",
    })


@read_only_page
def media_file(request, pk):
    """A stored file of a post, to logged-in users only (MEDIA_ROOT has no public URL)."""
    media = get_object_or_404(selectors.media_files(), pk=pk)
    # Shown inline only when it is an image the browser renders; anything else is a download.
    inline = media.content_type in ("image/jpeg", "image/png")
    response = FileResponse(media.file.open("rb"), as_attachment=not inline, filename=media.name,
                            content_type=media.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _message_or_404(pk) -> Message:
    try:
        return selectors.message_detail(pk)
    except Message.DoesNotExist:
        raise Http404("No such message.") from None


@read_only_page
def message_detail(request, pk):
    message = _message_or_404(pk)
    # Poll while the status may change soon: in flight, or due within the next few minutes.
    in_flight = message.status in (Message.Status.QUEUED, Message.Status.SENDING, Message.Status.RETRYING) or (
        message.status == Message.Status.SCHEDULED and message.due_at <= timezone.now() + timedelta(minutes=5)
    )
    context = {"message": message, "attempts": message.attempts.all(), "in_flight": in_flight}
    if request.headers.get("HX-Request"):
        response = render(request, "messaging/partials/message_status.html", context)
        if message.status in Message.FINAL:
            response["HX-Refresh"] = "true"  # the actions around the status change with it
        return response
    return render(request, "messaging/message_detail.html", {**context, "history": history_for(message)})


@role_required(Role.OPERATOR)
def message_edit(request, pk):
    message = _message_or_404(pk)
    form = EditMessageForm(request.POST if request.method == "POST" else None, request.FILES or None,
                           message=message, time_zone=user_time_zone_name(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.message_edit(message=message, text=data["text"], send_at=data["send_at"],
                                  card=data.get("card"), upload=data.get("upload"), actor=actor_from_request(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.success(request, "Message updated.")
            return redirect("messaging:detail", pk=pk)
    return render(request, "messaging/message_edit.html", {
        "form": form, "message": message, "max_text": MAX_TEXT, "media_max_bytes": settings.MEDIA_MAX_BYTES})


ACTIONS = {
    "cancel": (services.message_cancel, "Message cancelled."),
    "retry": (services.message_retry, "The message will be sent again."),
    "send-again": (services.message_retry, "The message will be sent again."),
    "mark-sent": (services.message_mark_sent, "Marked as sent."),
}


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "none"


@role_required(Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def message_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404("No such action.")
    message = _message_or_404(pk)
    if action == "cancel" and not is_confirmed(request):
        return render_confirm(
            request, title="Cancel this message?", question=f"The message to “{message.group.name}” will not be sent.",
            effects=[f"It was due {_when(message.due_at)} ({message.get_status_display().lower()} now).",
                     "Only this group's message is cancelled, not the rest of its broadcast or schedule."],
            confirm_label="Cancel the message", cancel_url=reverse("messaging:detail", args=[pk]),
        )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    service, done = ACTIONS[action]
    try:
        service(message=message, actor=actor_from_request(request))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, done)
    return redirect("messaging:detail", pk=pk)


BULK_LABELS = {"cancel": "Cancel", "retry": "Send again", "mark-sent": "Mark as sent"}


@role_required(Role.OPERATOR)
@require_POST
def messages_bulk(request):
    """Many messages at once, from the list's checkboxes: a confirmation saying how many the action applies
    to, then a page saying what happened to each."""
    back = request.POST.get("back", "")
    back = back if back.startswith("?") else ""
    list_url = reverse("messaging:list") + back
    action = request.POST.get("action", "")
    try:
        if action not in services.BULK_ACTIONS:
            raise ValidationError("Choose what to do with the chosen messages.")
        ids = selected_ids(request, noun="message", limit=services.MAX_BULK)
        if not is_confirmed(request):
            by_status = selectors.messages_by_status(ids)
            froms = services.bulk_applies_to(action)
            applies = sum(n for status, n in by_status.items() if status in froms)
            left = [(Message.Status(status).label, n) for status, n in sorted(by_status.items()) if status not in froms]
            missing = len(ids) - sum(by_status.values())
            return render_confirm(
                request, title=f"{BULK_LABELS[action]}: {_count(len(ids), 'message')}?",
                question=f"{_count(applies, 'message')} of the {len(ids)} chosen will be "
                         f"{services.BULK_ACTIONS[action][0]}.",
                effects=[f"{_count(n, 'message')} {label.lower()} will be left alone." for label, n in left]
                + ([f"{_count(missing, 'message')} no longer exist."] if missing else [])
                + ["A message that moves on before you confirm is left alone too; the next page says what "
                   "happened to each."],
                confirm_label=f"{BULK_LABELS[action]} {_count(applies, 'message')}", cancel_url=list_url,
                danger=action == "cancel",
                hidden={"action": action, "ids": ",".join(map(str, ids)), "back": back},
            )
        outcomes = services.messages_bulk_act(action=action, message_ids=ids, actor=actor_from_request(request))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
        return redirect(list_url)
    done = sum(outcome.done for outcome in outcomes)
    return render(request, "messaging/bulk_result.html", {
        "outcomes": outcomes, "done": done, "left": len(outcomes) - done, "action_label": BULK_LABELS[action],
        "done_words": services.BULK_ACTIONS[action][0], "list_url": list_url,
    })


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@role_required(Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def messages_cancel_held(request):
    form = HeldFilterForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        raise Http404("No such deactivated connector.")
    connector = form.cleaned_data["connector"]
    if not is_confirmed(request):
        held = selectors.held_messages(connector=connector).count()
        return render_confirm(
            request, title="Cancel the held messages?",
            question=f"{held} held message{'s' if held != 1 else ''}"
                     f"{f' of connector “{connector.name}”' if connector else ''} will be cancelled.",
            effects=["They will not be sent, even if the connector is reactivated.",
                     "Recurring schedules are not ended: their next fires are held again while the connector "
                     "stays deactivated."],
            confirm_label="Cancel them", cancel_url=f"{reverse('messaging:list')}?status=held",
            hidden={"connector": connector.pk} if connector else None,
        )
    cancelled = services.messages_cancel_held(connector=connector, actor=actor_from_request(request))
    flash.success(request, f"{cancelled} held message{'s' if cancelled != 1 else ''} cancelled.")
    return redirect(f"{reverse('messaging:list')}?status=held")


@read_only_page
def schedule_list(request):
    return render(request, "messaging/schedule_list.html", {
        "page": keyset_page(request, selectors.schedule_list(), order=("-created_at", "-id"), size=PAGE_SIZE),
    })


NEXT_FIRES_SHOWN = 5


@read_only_page
def schedule_detail(request, pk):
    schedule = get_object_or_404(selectors.schedule_list(), pk=pk)
    return render(request, "messaging/schedule_detail.html", {
        # Not "messages": that name is the flash messages' (base.html), which this page would hide.
        "schedule": schedule,
        # Shown in the schedule's own zone (its rule's), named on the page.
        "next_fires": next_fires(services.schedule_rule(schedule), timezone.now(), NEXT_FIRES_SHOWN)
        if schedule.state == Schedule.State.ACTIVE else [],
        "fired_messages": schedule.messages.select_related("group").order_by("-scheduled_for")[:50],
    })


@role_required(Role.OPERATOR)
def schedule_edit(request, pk):
    schedule = get_object_or_404(Schedule, pk=pk)
    if schedule.state == Schedule.State.ENDED:
        flash.error(request, "This schedule has ended; an ended schedule cannot be edited.")
        return redirect("messaging:schedule", pk=pk)
    form = ScheduleEditForm(request.POST if request.method == "POST" else None, request.FILES or None,
                            schedule=schedule)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.schedule_edit(schedule=schedule, groups=list(data["groups"]), text=data["text"], rule=data["rule"],
                                   audience=form.audience(), card=data.get("card"), upload=data.get("upload"),
                                   actor=actor_from_request(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.success(request, "Schedule saved: its next fires follow the new rule.")
            return redirect("messaging:schedule", pk=pk)
    return render(request, "messaging/compose.html", {"form": form, "time_zone": schedule.time_zone,
                                                      "media_max_bytes": settings.MEDIA_MAX_BYTES,
                                                      "max_text": MAX_TEXT, "schedule": schedule})


SCHEDULE_ACTIONS = {"pause": Schedule.State.PAUSED, "resume": Schedule.State.ACTIVE, "end": Schedule.State.ENDED}


def _schedule_confirmation(request, schedule: Schedule, action: str):
    waiting = selectors.schedule_waiting_count(schedule)
    kept = (f"The {waiting} message{'s' if waiting != 1 else ''} it already created and not yet sent "
            f"{'are' if waiting != 1 else 'is'} not cancelled (cancel them on their pages).")
    if action == "end":
        return render_confirm(
            request, title="End this schedule?", question=f"“{schedule}” will create no more messages, for good.",
            effects=[f"Its next fire ({_when(schedule.next_fire_at)}) and every later one will not happen.", kept],
            confirm_label="End the schedule", cancel_url=reverse("messaging:schedule", args=[schedule.pk]),
        )
    return render_confirm(
        request, title="Pause this schedule?", question=f"“{schedule}” will create no messages until resumed.",
        effects=[f"Its next fire ({_when(schedule.next_fire_at)}) will not happen while it is paused; fires missed "
                 "while paused are not made up on resuming.", kept],
        confirm_label="Pause the schedule", cancel_url=reverse("messaging:schedule", args=[schedule.pk]), danger=False,
    )


@role_required(Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def schedule_action(request, pk, action):
    if action not in SCHEDULE_ACTIONS:
        raise Http404("No such action.")
    schedule = get_object_or_404(Schedule, pk=pk)
    if action in ("pause", "end") and not is_confirmed(request):
        return _schedule_confirmation(request, schedule, action)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.schedule_set_state(schedule=schedule, state=SCHEDULE_ACTIONS[action],
                                    actor=actor_from_request(request))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, f"Schedule {dict(Schedule.State.choices)[SCHEDULE_ACTIONS[action]].lower()}.")
    return redirect("messaging:schedule", pk=pk)
