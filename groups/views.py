"""Group pages. Thin: rules are in services and membership; no Kaizala call is made here."""


from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts.roles import Role, read_only_page, role_required
from audit.actor import actor_from_request
from audit.selectors import history_for
from connectors.models import PhoneUser
from events import selectors as events_selectors
from events import services as events_services
from groups import membership, selectors, services
from groups.filters import GroupFilter
from groups.forms import GroupCreateForm, MembersForm, RoleForm, SenderForm, SubGroupForm, SyncForm
from groups.models import Group, GroupMember, GroupSubscriber
from kaizala_console.bulk import selected_ids
from kaizala_console.confirm import is_confirmed, render_confirm
from kaizala_console.exports import csv_response
from kaizala_console.filters import filter_list
from kaizala_console.keyset import keyset_page
from kaizala_console.menus import select_options
from kaizala_console.submit_once import submit_once

PAGE_SIZE = 25
SUBSCRIBER_PAGE_SIZE = 50
MEMBER_PAGE_SIZE = 100
# Lists in name or number order page back and forth, not newer/older.
BY_NAME = ("Previous", "Next")


def _group_or_404(pk) -> Group:
    try:
        return selectors.group_detail(pk)
    except Group.DoesNotExist:
        raise Http404("No such group.") from None


# --- list, create, sync --------------------------------------------------------------------------


@read_only_page
def group_menu(request):
    """The <option>s of a group filter menu (the message list's, the Inbox's), fetched when the menu is first
    opened (htmx): with thousands of groups they weigh ~50 bytes each, which those pages then built and sent
    with every view. `?selected=<pk>` marks the chosen one."""
    return HttpResponse(format_html('<option value="">Any group</option>{}', select_options(
        selectors.group_menu(), request.GET.get("selected", ""))))


@read_only_page
def group_list(request):
    listing = filter_list(GroupFilter, request, selectors.group_list())
    # The values the list is filtered by (a bad one was dropped, with a note), to fill the filter form.
    filters = {key: (listing.form.data.get(key) or "").strip() for key in ("q", "phone_user", "type", "created_by")}
    return render(request, "groups/group_list.html", {
        "page": keyset_page(request, listing.qs, order=("name", "id"), size=PAGE_SIZE, labels=BY_NAME),
        "filters": filters,
        "filter_notes": listing.notes,
        # Both phone-user menus from plain tuples: full rows decrypted four secrets each (~3,000 Fernet
        # decrypts a page with 500 phone users), and the template loops took ~40 ms (bench/bench_pages.py).
        "phone_user_options": select_options(
            ((pk, f"{mobile} ({connector})") for pk, mobile, connector in PhoneUser.objects.order_by(
                "mobile_number").values_list("id", "mobile_number", "connector__name")), filters["phone_user"]),
        "types": Group.Type.choices,
        "creator_options": select_options(get_user_model().objects.order_by("username").values_list(
            "id", "username"), filters["created_by"]),
        "active_phone_user_options": select_options(
            (pk, f"{mobile} · {PhoneUser.TokenKind(kind).label} · {connector}")
            for pk, mobile, kind, connector in selectors.active_phone_users().order_by("mobile_number").values_list(
                "id", "mobile_number", "token_kind", "connector__name")),
        **_sync_context(),
    })



def _sync_context():
    return {"syncs": selectors.latest_syncs(), "sync_running": selectors.sync_is_running()}


@read_only_page
def sync_status(request):
    """The sync panel, polled by htmx while a sync runs; the page reloads when it is done."""
    context = _sync_context()
    response = render(request, "groups/partials/sync_status.html", context)
    if request.headers.get("HX-Request") and not context["sync_running"]:
        response["HX-Refresh"] = "true"
    return response


@role_required(Role.OPERATOR)
@require_POST
def sync_request(request):
    form = SyncForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["phone_user"]))
        return redirect("groups:list")
    phone_user = form.cleaned_data["phone_user"]
    try:
        services.groups_sync_request(actor=actor_from_request(request), phone_user=phone_user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, f"Fetching the groups {phone_user.mobile_number} sees from Kaizala…")
    return redirect("groups:list")


@role_required(Role.OPERATOR)
def group_create(request):
    form = GroupCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            return submit_once(request, lambda: redirect("groups:detail", pk=services.group_create(
                actor=actor_from_request(request),
                phone_user=data["phone_user"], name=data["name"], welcome_message=data["welcome_message"],
                group_type=data["group_type"], members=data["entries"],
            ).pk))
        except ValidationError as exc:
            form.add_error(None, exc)
    context = {"form": form, "has_phone_users": form.fields["phone_user"].queryset.exists()}
    return render(request, "groups/group_form.html", context, status=400 if form.errors else 200)


# --- one group -----------------------------------------------------------------------------------


def _detail_context(request, group, **forms):
    subscribers = group.subscribers.all() if group.is_public else GroupSubscriber.objects.none()
    accesses = selectors.group_accesses(group)
    return {
        "group": group,
        "accesses": accesses,
        # Admin-only actions are offered only when a phone user with the Admin role reaches the group.
        "can_administer": selectors.admin_phone_user(group, accesses) is not None,
        "sender_form": SenderForm(group=group, initial={"phone_user": group.phone_user_id}),
        "busy": selectors.group_is_busy(group),
        "members": keyset_page(request, group.members.all(), order=("mobile_number", "id"), size=MEMBER_PAGE_SIZE,
                               prefix="members_", labels=BY_NAME),
        "member_count": group.members.count(),
        "sub_groups": group.sub_groups.all(),
        "subscriber_page": keyset_page(request, subscribers, order=("mobile_number", "id"), size=SUBSCRIBER_PAGE_SIZE,
                                       prefix="subscribers_", labels=BY_NAME),
        "subscriber_count": subscribers.count(),
        "recent_messages": selectors.recent_messages(group),
        "members_form": forms.get("members_form") or MembersForm(prefix="members"),
        "subscribers_form": forms.get("subscribers_form") or MembersForm(prefix="subscribers"),
        # Listening to the group's events (the events app).
        "listening": events_selectors.group_listening(group),
        "listening_warning": events_services.public_url_warning(),
    }


@read_only_page
def group_detail(request, pk):
    group = _group_or_404(pk)
    return render(request, "groups/group_detail.html", {**_detail_context(request, group),
                                                        "history": history_for(group)})


@read_only_page
def group_status(request, pk):
    """The live part of the detail page, polled while a task works; the page reloads when it is done."""
    group = _group_or_404(pk)
    busy = selectors.group_is_busy(group)
    response = render(request, "groups/partials/group_status.html", {"group": group, "busy": busy})
    if request.headers.get("HX-Request") and not busy:
        response["HX-Refresh"] = "true"
    return response


def _act(request, pk, action, success: str):
    """Run `action(actor)` and go back to the group, saying what happened or why not."""
    try:
        action(actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, success)
    return redirect("groups:detail", pk=pk)


@role_required(Role.OPERATOR)
@require_POST
def group_refresh(request, pk):
    group = _group_or_404(pk)
    return _act(request, pk, lambda actor: services.group_refresh_request(actor=actor, group=group),
                "Refreshing from Kaizala…")


@role_required(Role.OPERATOR)
@require_POST
def group_retry(request, pk):
    group = _group_or_404(pk)
    return _act(request, pk, lambda actor: services.group_retry_create(actor=actor, group=group), "Trying again…")


@role_required(Role.OPERATOR)
@require_POST
def members_add(request, pk):
    group = _group_or_404(pk)
    form = MembersForm(request.POST, request.FILES, prefix="members")
    if form.is_valid():
        entries = form.cleaned_data["entries"]

        def add():
            membership.members_add(actor=actor_from_request(request), group=group, entries=entries)
            messages.info(request, f"Adding {len(entries)} number{'s' if len(entries) != 1 else ''}…")
            return redirect("groups:detail", pk=pk)

        try:
            return submit_once(request, add)
        except ValidationError as exc:
            # Above the page: the form is not shown while the group is not active.
            messages.error(request, " ".join(exc.messages))
    return render(request, "groups/group_detail.html", _detail_context(request, group, members_form=form),
                  status=400)


@role_required(Role.OPERATOR)
@require_POST
def group_sender(request, pk):
    group = _group_or_404(pk)
    form = SenderForm(request.POST, group=group)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["phone_user"]))
        return redirect("groups:detail", pk=pk)
    phone_user = form.cleaned_data["phone_user"]
    return _act(request, pk, lambda actor: services.group_set_sender(actor=actor, group=group, phone_user=phone_user),
                f"Messages to this group now go through {phone_user.mobile_number}.")


@role_required(Role.OPERATOR)
def member_remove(request, pk, member_pk):
    member = get_object_or_404(GroupMember.objects.select_related("group__phone_user"), pk=member_pk, group_id=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title="Remove a member", question=f"Remove {member.mobile_number} from “{member.group.name}”?",
            effects=[f"Kaizala removes {member.mobile_number} from the group: it no longer sees the group's "
                     "messages and cannot post in it.", "The row leaves this page once Kaizala confirms."]
            if member.kaizala_member_id or member.state != GroupMember.State.FAILED
            else ["It never reached Kaizala: only the console's row is deleted."],
            confirm_label="Remove the member", cancel_url=reverse("groups:detail", args=[pk]))
    return _act(request, pk, lambda actor: membership.member_remove(actor=actor, member=member),
                f"Removing {member.mobile_number}…")


MEMBER_EXPORT_COLUMNS = [
    ("mobile number", "mobile_number"), ("name", "name"), ("role", "role"), ("state", "state"),
    ("has the Kaizala app", "is_provisioned"), ("Kaizala member id", "kaizala_member_id"), ("last error", "last_error"),
]


@read_only_page
def members_export(request, pk):
    """A group's members as CSV, streamed."""
    group = _group_or_404(pk)
    return csv_response(filename=f"group-{group.pk}-members.csv", columns=MEMBER_EXPORT_COLUMNS,
                        queryset=group.members.all(), order=("mobile_number", "id"))


MAX_BULK_MEMBERS = 5000


def _members(n: int) -> str:
    return f"{n} member{'' if n == 1 else 's'}"


@role_required(Role.OPERATOR)
@require_POST
def members_remove(request, pk):
    """Many members at once, from the member list's checkboxes: a confirmation saying how many, then a page
    saying what happened to each."""
    group = _group_or_404(pk)
    try:
        ids = selected_ids(request, noun="member", limit=MAX_BULK_MEMBERS)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("groups:detail", pk=pk)
    if not is_confirmed(request):
        rows = selectors.chosen_members(group, ids)
        plan = membership.plan_removal(group, rows)
        effects = [
            f"{_members(len(plan.at_kaizala))}: Kaizala removes them; they no longer see the group's messages and "
            "cannot post in it. Each row leaves the list once Kaizala confirms.",
            f"{_members(len(plan.never_reached))} never reached Kaizala: only the console's rows are deleted.",
            f"{_members(len(plan.sender) + len(plan.busy))} left alone (the number the group sends through, or a "
            "change in progress).",
        ]
        if len(rows) < len(ids):
            effects.append(f"{_members(len(ids) - len(rows))} no longer in this group.")
        return render_confirm(
            request, title=f"Remove {_members(len(ids))}?",
            question=f"Remove {_members(len(plan.at_kaizala) + len(plan.never_reached))} of the {len(ids)} chosen "
                     f"from “{group.name}”?",
            effects=effects, confirm_label=f"Remove {_members(len(plan.at_kaizala) + len(plan.never_reached))}",
            cancel_url=reverse("groups:detail", args=[pk]), hidden={"ids": ",".join(map(str, ids))})
    outcomes = membership.members_remove(group=group, member_ids=ids, actor=actor_from_request(request))
    done = sum(outcome.done for outcome in outcomes)
    return render(request, "groups/members_remove_result.html", {
        "group": group, "outcomes": outcomes, "done": done, "left": len(outcomes) - done})


@role_required(Role.OPERATOR)
@require_POST
def member_set_role(request, pk, member_pk):
    member = get_object_or_404(GroupMember.objects.select_related("group"), pk=member_pk, group_id=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The role is Admin or Member.")
        return redirect("groups:detail", pk=pk)
    role = form.cleaned_data["role"]
    return _act(request, pk, lambda actor: membership.member_set_role(actor=actor, member=member, role=role),
                f"Making {member.mobile_number} {role.lower()}…")


@role_required(Role.OPERATOR)
def subgroup_create(request, pk):
    parent = _group_or_404(pk)
    form = SubGroupForm(request.POST or None, request.FILES or None)
    if parent.state != Group.State.ACTIVE:
        messages.error(request, "Sub-groups can be created once the group is active.")
        return redirect("groups:detail", pk=pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            return submit_once(request, lambda: redirect("groups:detail", pk=services.group_create(
                actor=actor_from_request(request),
                phone_user=parent.phone_user, name=data["name"], welcome_message=data["welcome_message"],
                members=data["entries"], parent=parent,
            ).pk))
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "groups/subgroup_form.html", {"form": form, "parent": parent},
                  status=400 if form.errors else 200)


@role_required(Role.OPERATOR)
@require_POST
def subscribers_add(request, pk):
    group = _group_or_404(pk)
    form = MembersForm(request.POST, request.FILES, prefix="subscribers")
    if not form.is_valid():
        return render(request, "groups/group_detail.html",
                      _detail_context(request, group, subscribers_form=form), status=400)
    entries = form.cleaned_data["entries"]
    return _act(request, pk, lambda actor: membership.subscribers_add(actor=actor, group=group, entries=entries),
                f"Subscribing {len(entries)} number{'s' if len(entries) != 1 else ''}…")


@role_required(Role.OPERATOR)
def subscriber_remove(request, pk, subscriber_pk):
    subscriber = get_object_or_404(GroupSubscriber.objects.select_related("group"), pk=subscriber_pk, group_id=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title="Remove a subscriber",
            question=f"Unsubscribe {subscriber.mobile_number} from “{subscriber.group.name}”?",
            effects=[f"Kaizala removes {subscriber.mobile_number} from the public group's subscribers: it gets no "
                     "more of its messages."],
            confirm_label="Remove the subscriber", cancel_url=reverse("groups:detail", args=[pk]))
    return _act(request, pk, lambda actor: membership.subscriber_remove(actor=actor, subscriber=subscriber),
                f"Removing subscriber {subscriber.mobile_number}…")
