"""Console-wide pages that belong to no single app."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from events import selectors as events_selectors
from messaging import selectors as messaging_selectors


@require_safe
def dashboard(request):
    return render(request, "dashboard.html", {
        **messaging_selectors.dashboard(),
        "inbound_last_hour": events_selectors.inbound_last_hour(),
        "attention_subscriptions": events_selectors.subscriptions_needing_attention(),
    })
