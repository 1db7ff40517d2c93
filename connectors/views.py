"""Pages for connectors, phone users (the PIN wizard) and the API call log. Thin: rules are in services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Role, read_only_page, role_required
from audit.actor import actor_from_request
from audit.selectors import history_for
from connectors import sandbox_control, selectors, services
from connectors.filters import ApiCallFilter, PhoneUserFilter
from connectors.forms import ConnectorForm, OnboardForm, PinForm, PortalTokenForm
from connectors.models import ApiCall, Connector, Permission, PhoneUser
from kaizala_console.confirm import is_confirmed, render_confirm
from kaizala_console.exports import csv_response
from kaizala_console.filters import filter_list
from kaizala_console.keyset import keyset_page
from kaizala_console.menus import select_options
from kaizala_console.submit_once import FIELD as FORM_TOKEN_FIELD
from kaizala_console.submit_once import submit_once
from kaizala_console.text import clean_name

PAGE_SIZE = 50


# --- connectors ---------------------------------------------------------------------------------------


@read_only_page
def connector_list(request):
    return render(request, "connectors/connector_list.html", {"connectors": selectors.connector_list()})


@read_only_page
def connector_detail(request, pk):
    connector = get_object_or_404(selectors.connector_list(), pk=pk)
    phone_users = list(selectors.phone_user_list(connector_id=pk))
    return render(request, "connectors/connector_detail.html", {
        "connector": connector, "phone_users": phone_users,
        "scope_mismatches": selectors.scope_mismatches(phone_users), "history": history_for(connector),
    })


@role_required(Role.ADMIN)
def connector_create(request):
    form = ConnectorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        connector = services.connector_save(actor=actor_from_request(request), connector=form.save(commit=False))
        messages.success(request, f"Connector “{connector.name}” registered.")
        return redirect("connectors:detail", pk=connector.pk)
    context = {"form": form, "sandbox": sandbox_control.sandbox_enabled()}
    return render(request, "connectors/connector_form.html", context)


@role_required(Role.ADMIN)
@require_POST
def connector_create_in_sandbox(request):
    """Register a new connector at the sandbox and here in one step, so its secret never reaches a page."""
    if not sandbox_control.sandbox_enabled():
        messages.error(request, "The console is not talking to a sandbox.")
        return redirect("connectors:create")
    name = clean_name(request.POST.get("name") or "")[:100] or "Sandbox connector"
    permissions = request.POST.getlist("permissions") or [p.value for p in Permission]
    try:
        connector = services.connector_create_in_sandbox(actor=actor_from_request(request), name=name,
                                                          permissions=permissions)
    except sandbox_control.SandboxUnavailable as exc:
        messages.error(request, services.describe_error(exc))
        return redirect("connectors:create")
    messages.success(request, f"Connector “{connector.name}” created in the sandbox and registered here.")
    return redirect("connectors:detail", pk=connector.pk)


@role_required(Role.ADMIN)
def connector_edit(request, pk):
    connector = get_object_or_404(Connector, pk=pk)
    form = ConnectorForm(request.POST or None, instance=connector)
    if request.method == "POST" and form.is_valid():
        services.connector_save(actor=actor_from_request(request), connector=form.save(commit=False),
                                changed=set(form.changed_data))
        messages.success(request, f"Connector “{connector.name}” saved.")
        return redirect("connectors:detail", pk=connector.pk)
    return render(request, "connectors/connector_form.html", {"form": form, "connector": connector})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def connector_set_active(request, pk, active):
    """Asks first, saying what it holds (deactivate) or sends now (reactivate)."""
    connector = get_object_or_404(Connector, pk=pk)
    if not is_confirmed(request):
        verb = "Reactivate" if active else "Deactivate"
        question = (f"Kaizala calls through “{connector.name}” start again." if active else
                    f"Nothing will be sent or changed at Kaizala through “{connector.name}” until it is reactivated.")
        return render_confirm(
            request, title=f"{verb} connector “{connector.name}”?", question=question,
            effects=services.connector_activation_effects(connector=connector, active=active),
            confirm_label=f"{verb} it", cancel_url=reverse("connectors:detail", args=[pk]), danger=not active,
        )
    if services.connector_set_active(actor=actor_from_request(request), connector=connector, active=active):
        messages.success(request, f"Connector “{connector.name}” {'reactivated' if active else 'deactivated'}.")
    else:
        messages.info(request, f"Connector “{connector.name}” already was {'active' if active else 'deactivated'}.")
    return redirect("connectors:detail", pk=pk)


# --- phone users --------------------------------------------------------------------------------------


@read_only_page
def phone_user_list(request):
    listing = filter_list(PhoneUserFilter, request, selectors.phone_user_page())
    return render(request, "connectors/phone_user_list.html", {
        "page": keyset_page(request, listing.qs, order=("connector__name", "mobile_number", "id"), size=PAGE_SIZE,
                            labels=("Previous", "Next")),
        "states": PhoneUser.State.choices, "filter": listing,
        "state": listing.form.data.get("state", ""), "connector_id": listing.form.data.get("connector", ""),
        "q": listing.form.data.get("q", ""),
        "warning_horizon": selectors.refresh_token_warning_horizon(), "connectors": selectors.connector_menu(),
    })


@role_required(Role.ADMIN)
def phone_user_onboard(request):
    form = OnboardForm(request.POST or None, initial={"connector": request.GET.get("connector")})
    if request.method == "POST" and form.is_valid():
        try:
            return submit_once(request, lambda: redirect("connectors:phone_user", services.phone_user_start_onboarding(
                actor=actor_from_request(request),
                connector=form.cleaned_data["connector"], mobile_number=form.cleaned_data["mobile_number"],
                replace_active=is_confirmed(request),
            ).pk))
        except services.PhoneUserAlreadyActive as exc:
            # The refused create released the form's token: the confirmation carries it on.
            return _confirm_reonboard(request, exc.phone_user, cancel_url=reverse("connectors:onboard"), hidden={
                "connector": form.cleaned_data["connector"].pk, "mobile_number": exc.phone_user.mobile_number,
                FORM_TOKEN_FIELD: request.POST.get(FORM_TOKEN_FIELD, ""),
            })
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "connectors/onboard.html", {
        "form": form, "has_connectors": form.fields["connector"].queryset.exists()})


def _usage_effects(phone_user, removing=False) -> list[str]:
    usage = selectors.phone_user_usage(phone_user)
    if removing and usage["groups"]:
        return [f"It cannot be removed while {usage['groups']} group(s) send through it: onboard it again instead."]
    return [
        f"{usage['groups']} group(s) send through this phone user.",
        f"{usage['pending_messages']} message(s) still to send and {usage['schedules']} active schedule(s) "
        "use those groups.",
    ]


def _confirm_reonboard(request, phone_user, *, cancel_url, hidden=None):
    effects = _usage_effects(phone_user)
    if phone_user.state == PhoneUser.State.ACTIVE:
        effects.insert(0, "It is active now: it stops acting until the new PIN is typed here. Its messages wait, "
                          "or fail if the PIN login does not finish.")
    return render_confirm(
        request, title=f"Onboard {phone_user.mobile_number} again?",
        question=f"Kaizala will send a new PIN to {phone_user.mobile_number} on “{phone_user.connector.name}”.",
        effects=effects, confirm_label="Send a new PIN", cancel_url=cancel_url, hidden=hidden,
    )


@role_required(Role.ADMIN)
def phone_user_add_token(request):
    form = PortalTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            phone_user = services.phone_user_add_portal_token(actor=actor_from_request(request),
                connector=data["connector"], token_kind=data["token_kind"], mobile_number=data["mobile_number"],
                refresh_token=data["refresh_token"], group_id=data.get("group_id", ""),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("connectors:phone_user", pk=phone_user.pk)
    return render(request, "connectors/add_token.html", {"form": form})


def _phone_user_context(phone_user, pin_form=None):
    return {
        "phone_user": phone_user,
        "pin_form": pin_form or PinForm(),
        "resend_wait": services.pin_resend_wait(phone_user),
        "sandbox_phone_url": sandbox_control.phone_page_url(phone_user.mobile_number)
        if sandbox_control.sandbox_enabled() else "",
        "warning_horizon": selectors.refresh_token_warning_horizon(),
        "in_progress": phone_user.state == PhoneUser.State.VERIFYING
        or (phone_user.state == PhoneUser.State.PIN_REQUESTED and not phone_user.pin_sent_at),
    }


@read_only_page
def phone_user_detail(request, pk):
    phone_user = get_object_or_404(PhoneUser.objects.select_related("connector"), pk=pk)
    calls = list(ApiCall.objects.filter(phone_user=phone_user).defer("request_body", "response_body")[:10])
    for call in calls:  # the call table shows each call's phone user: this one, without a query per row
        call.phone_user = phone_user
    return render(request, "connectors/phone_user_detail.html", {
        **_phone_user_context(phone_user), "calls": calls, "scope_mismatch": selectors.scope_mismatch(phone_user),
    })


@read_only_page
def phone_user_status(request, pk):
    """The wizard's live part, polled by htmx while a task is working. When the work is done the whole
    page reloads, since the token details around the wizard changed too."""
    phone_user = get_object_or_404(PhoneUser.objects.select_related("connector"), pk=pk)
    context = _phone_user_context(phone_user)
    response = render(request, "connectors/partials/onboarding_status.html", context)
    if request.headers.get("HX-Request") and not context["in_progress"]:
        response["HX-Refresh"] = "true"
    return response


def _phone_user_action(request, pk, action):
    phone_user = get_object_or_404(PhoneUser, pk=pk)
    try:
        action(phone_user)  # each of these services owns its transaction
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("connectors:phone_user", pk=pk)


@role_required(Role.ADMIN)
@require_POST
def phone_user_submit_pin(request, pk):
    phone_user = get_object_or_404(PhoneUser.objects.select_related("connector"), pk=pk)
    form = PinForm(request.POST)
    if not form.is_valid():
        return render(request, "connectors/phone_user_detail.html", _phone_user_context(phone_user, form), status=400)
    return _phone_user_action(
        request, pk, lambda pu: services.phone_user_submit_pin(actor=actor_from_request(request), phone_user=pu,
                                                 pin=form.cleaned_data["pin"])
    )


@role_required(Role.ADMIN)
@require_POST
def phone_user_resend_pin(request, pk):
    return _phone_user_action(
        request, pk, lambda pu: services.phone_user_resend_pin(actor=actor_from_request(request), phone_user=pu))


@role_required(Role.ADMIN)
@require_POST
def phone_user_retry(request, pk):
    return _phone_user_action(
        request, pk, lambda pu: services.phone_user_retry_token(actor=actor_from_request(request), phone_user=pu))


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def phone_user_reonboard(request, pk):
    phone_user = get_object_or_404(PhoneUser.objects.select_related("connector"), pk=pk)
    if not is_confirmed(request):
        return _confirm_reonboard(request, phone_user, cancel_url=reverse("connectors:phone_user", args=[pk]))
    try:
        services.phone_user_start_onboarding(
                actor=actor_from_request(request),
            connector=phone_user.connector, mobile_number=phone_user.mobile_number, replace_active=True
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("connectors:phone_user", pk=pk)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def phone_user_remove(request, pk):
    phone_user = get_object_or_404(PhoneUser, pk=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title=f"Remove {phone_user.mobile_number}?",
            question="The console forgets this phone user and deletes its tokens; its API call log stays.",
            effects=_usage_effects(phone_user, removing=True), confirm_label="Remove",
            cancel_url=reverse("connectors:phone_user", args=[pk]),
        )
    try:
        services.phone_user_remove(actor=actor_from_request(request), phone_user=phone_user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("connectors:phone_user", pk=pk)
    messages.success(request, f"Phone user {phone_user.mobile_number} removed; its tokens are deleted.")
    return redirect("connectors:phone_users")


@read_only_page
def phone_user_menu(request):
    """The <option>s of a phone-user filter menu (the message list's), fetched when it is first opened (htmx),
    so the page does not build and send one per phone user with every view. `?selected=<pk>` marks one."""
    return HttpResponse(format_html('<option value="">Any phone user</option>{}', select_options(
        selectors.phone_user_menu(), request.GET.get("selected", ""))))


# --- API call log -------------------------------------------------------------------------------------


@read_only_page
def api_call_list(request):
    listing = filter_list(ApiCallFilter, request, selectors.api_call_page())
    return render(request, "connectors/api_call_list.html", {
        "page": keyset_page(request, listing.qs, order=("-created_at", "-id"), size=PAGE_SIZE, date_field="created_at"),
        "filter": listing, "filters": listing.form.data,
        "connectors": selectors.connector_menu(), "status_choices": listing.form.fields["status"].choices[1:],
        "methods": listing.form.fields["method"].choices[1:],
    })


CALL_EXPORT_COLUMNS = [
    ("time", "created_at"), ("method", "method"), ("URL", "url"), ("status", "status"), ("ms", "duration_ms"),
    ("error", "error_class"), ("Kaizala error code", "error_code"), ("connector", "connector__name"),
    ("phone user", "phone_user__mobile_number"),
]


@read_only_page
def api_call_export(request):
    """The call log as CSV, its filters (and search) applied, streamed; bodies are not exported."""
    listing = filter_list(ApiCallFilter, request, selectors.api_call_list())
    if listing.notes:  # the list page says which filter was ignored; an export does not guess
        return redirect(f"{reverse('connectors:calls')}?{request.GET.urlencode()}")
    return csv_response(filename="api-calls.csv", columns=CALL_EXPORT_COLUMNS, queryset=listing.qs,
                        order=("-created_at", "-id"))


@read_only_page
def api_call_detail(request, pk):
    call = get_object_or_404(ApiCall.objects.select_related("connector", "phone_user"), pk=pk)
    return render(request, "connectors/api_call_detail.html", {"call": call})
