"""The console pages of the API: keys (list, create — the key shown once —, revoke) and callback deliveries
(see, replay). Admins only."""

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.roles import Role, role_required
from api import callbacks, selectors, services
from api.filters import DeliveryFilter
from api.forms import ApiKeyForm
from api.models import ApiKey, Delivery
from audit.actor import actor_from_request
from kaizala_console.confirm import is_confirmed, render_confirm
from kaizala_console.filters import filter_list
from kaizala_console.submit_once import submit_once


@require_safe
@role_required(Role.ADMIN)
def key_list(request):
    return render(request, "api/key_list.html", {"keys": selectors.api_key_list()})


@role_required(Role.ADMIN)
def key_create(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            return submit_once(request, lambda: _create(request, form.cleaned_data))
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "api/key_form.html", {"form": form}, status=400 if form.errors else 200)


def _create(request, data):
    api_key, raw = services.api_key_create(owner=data["owner"], name=data["name"], expires_at=data["expires_at"],
                                           created_by=request.user, actor=actor_from_request(request))
    # The one answer that carries the key. Its Location is what a repeated submit of this form is sent to
    # (submit_once records it): the list, where the key is never shown again.
    response = render(request, "api/key_created.html", {"api_key": api_key, "raw_key": raw})
    response["Location"] = reverse("api:keys")
    return response


@role_required(Role.ADMIN)
def key_revoke(request, pk):
    api_key = get_object_or_404(ApiKey, pk=pk)
    if not is_confirmed(request):
        return render_confirm(
            request, title="Revoke API key", question=f"Revoke the key “{api_key.name}” ({api_key.prefix}…)?",
            effects=["Every request with it is refused from now on (401).", "This cannot be undone."],
            confirm_label="Revoke", cancel_url=reverse("api:keys"))
    try:
        services.api_key_revoke(api_key=api_key, actor=actor_from_request(request))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, "Key revoked.")
    return redirect("api:keys")


DELIVERIES_SHOWN = 200


@require_safe
@role_required(Role.ADMIN)
def delivery_list(request):
    listing = filter_list(DeliveryFilter, request, selectors.delivery_list())
    return render(request, "api/delivery_list.html", {
        "deliveries": listing.qs.prefetch_related("attempts")[:DELIVERIES_SHOWN], "filter": listing,
        "shown": DELIVERIES_SHOWN})


@role_required(Role.ADMIN)
@require_POST
def delivery_replay(request, pk):
    try:
        callbacks.delivery_replay(delivery=get_object_or_404(Delivery, pk=pk), actor=actor_from_request(request))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, "The event will be sent again.")
    return redirect("api:deliveries")
