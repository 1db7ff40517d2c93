"""Destructive actions ask first: GET on an action's URL renders a confirmation page saying what the action
will affect; its form POSTs back with `confirmed=1`. A POST without it (an old form, a script) is shown the
same page instead of acting, so nothing destructive happens in one click."""

from django.shortcuts import render


def is_confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get("confirmed") == "1"


def render_confirm(request, *, title: str, question: str, effects: list[str] = (), confirm_label: str,
                   cancel_url: str, danger: bool = True, hidden: dict | None = None):
    return render(request, "confirm.html", {
        "title": title, "question": question, "effects": list(effects), "confirm_label": confirm_label,
        "cancel_url": cancel_url, "danger": danger, "hidden": sorted((hidden or {}).items()),
    })
