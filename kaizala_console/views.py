"""Console-wide pages that belong to no single app."""

import hmac
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from events import selectors as events_selectors
from kaizala_console import health, metrics
from kaizala_console.kept import kept
from messaging import selectors as messaging_selectors

logger = logging.getLogger(__name__)


@require_safe
def dashboard(request):
    context = messaging_selectors.dashboard()
    # Worker and beat health joins "Needs attention" (read from Redis: no query).
    context["attention_health"] = problems = health.problems()
    inbound = kept("dashboard-inbound", lambda: {"last_hour": events_selectors.inbound_last_hour(),
                                                 "chart": events_selectors.inbound_per_hour(timezone.now())})
    context["inbound_last_hour"], context["inbound_chart"] = inbound["last_hour"], inbound["chart"]
    context["totals_as_of"] = min(context["totals_as_of"], inbound["as_of"])
    context["attention_subscriptions"] = subscriptions = events_selectors.subscriptions_needing_attention()
    context["nothing_needs_attention"] = context["nothing_needs_attention"] and not problems and not subscriptions
    return render(request, "dashboard.html", context)


@login_not_required
@require_safe
def healthz(request):
    """Liveness: the process answers. No dependency is checked, so a database outage restarts nothing."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_safe
def metrics_view(request):
    """Prometheus' scrape: with the METRICS_TOKEN bearer token, or from an address in METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    allowed = (token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())) or (
        request.META.get("REMOTE_ADDR") in settings.METRICS_ALLOWED_IPS)
    if not allowed:
        return HttpResponseForbidden("Metrics need the METRICS_TOKEN bearer token or an allowed address.",
                                     content_type="text/plain")
    return HttpResponse(metrics.scrape(), content_type="text/plain; version=0.0.4; charset=utf-8")


@login_not_required
@require_safe
def readyz(request):
    """Readiness: database, Redis, a worker and the beat; 503 names what is down (no address or setting).
    The dispatcher's check is shown too, but is optional: the web serves without one."""
    ready, checks = health.readiness()
    response = JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                            status=200 if ready else 503)
    if not ready:
        # One warning naming the checks, instead of Django's ERROR line for every 503 a prober collects.
        logger.warning("not ready: %s", ", ".join(name for name, check in checks.items()
                                                  if not check["ok"] and not check.get("optional")))
        response._has_been_logged = True
    return response
