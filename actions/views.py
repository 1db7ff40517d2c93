"""The results of a sent action: the page, its live part, the CSV, and the buttons that ask a worker to
refresh from Kaizala or to remind. No Kaizala call here: the services enqueue the work."""

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import Role, read_only_page, role_required
from accounts.timezones import user_time_zone_name
from actions import answers as answer_rules
from actions import exports, selectors, services
from actions.forms import ReminderScheduleForm
from audit.actor import actor_from_request
from kaizala_console.keyset import keyset_page

PAGE_SIZE = 25


def _message_or_404(pk):
    message = selectors.message(pk)
    if message is None:
        raise Http404("No such message.")
    return message


def _context(message) -> dict:
    refusal = services.sent_action(message)
    context = {"message": message, "refusal": refusal}
    if not refusal:
        context["results"] = selectors.results(message)
    return context


@read_only_page
def results(request, pk):
    message = _message_or_404(pk)
    context = _context(message)
    if not context["refusal"]:
        questions = answer_rules.questions_of(message.kind, message.card)
        page = keyset_page(request, selectors.responses(message).only(*selectors.RESPONSE_FIELDS),
                           order=("-responded_at", "-id"), size=PAGE_SIZE, prefix="r")
        context.update(page=page, rows=selectors.response_rows(page.object_list, questions),
                       columns=selectors.column_titles(message),
                       reminder_form=ReminderScheduleForm(initial={"local_time": "09:00"}),
                       time_zone=user_time_zone_name(request.user))
    return render(request, "actions/results.html", context)


@read_only_page
def live(request, pk):
    """The part of the results page that polls: counts, charts, who has answered."""
    return render(request, "actions/partials/live.html", _context(_message_or_404(pk)))


@read_only_page
def export(request, pk):
    message = _message_or_404(pk)
    refusal = services.sent_action(message)
    if refusal:
        flash.error(request, refusal)
        return redirect("actions:results", pk=pk)
    return exports.responses_csv(message)


def _act(request, pk, action, success: str):
    message = _message_or_404(pk)
    try:
        action(message)
    except services.ActionRefused as exc:
        flash.error(request, str(exc))
    else:
        flash.info(request, success)
    return redirect("actions:results", pk=pk)


@role_required(Role.OPERATOR)
@require_POST
def refresh(request, pk):
    return _act(request, pk, lambda m: services.action_refresh(message=m, actor=actor_from_request(request)),
                "Reading the responses from Kaizala…")


@role_required(Role.OPERATOR)
@require_POST
def remind(request, pk):
    return _act(request, pk, lambda m: services.action_remind(message=m, actor=actor_from_request(request)),
                "Reminding those who have not answered…")


@role_required(Role.OPERATOR)
@require_POST
def reminder_schedule(request, pk):
    form = ReminderScheduleForm(request.POST)
    if not form.is_valid():
        _message_or_404(pk)
        flash.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("actions:results", pk=pk)
    zone = user_time_zone_name(request.user)
    at = form.cleaned_data["local_time"]
    return _act(request, pk, lambda m: services.reminder_schedule_set(
        message=m, local_time=at, time_zone=zone, actor=actor_from_request(request)),
        f"Reminding every day at {at:%H:%M} ({zone}) until the due date.")


@role_required(Role.OPERATOR)
@require_POST
def reminder_stop(request, pk):
    return _act(request, pk, lambda m: services.reminder_schedule_stop(message=m, actor=actor_from_request(request)),
                "The daily reminder is stopped.")
