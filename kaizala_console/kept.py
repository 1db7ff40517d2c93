"""Figures over whole tables (the dashboard's counts and charts), kept for DASHBOARD_TOTALS_SECONDS per web process
and time zone, so a page reloaded by many people does not count every row each time. A page that shows kept figures
says when they were counted (the `as_of` of what `kept` returns). 0 seconds: counted on every call."""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone


def kept(name: str, compute) -> dict:
    """compute() (a dict), with "as_of" (when it was computed) added, from the cache while it is fresh."""
    seconds = settings.DASHBOARD_TOTALS_SECONDS
    key = f"kept:{name}:{timezone.get_current_timezone_name()}"
    figures = cache.get(key) if seconds else None
    if figures is None:
        figures = {**compute(), "as_of": timezone.now()}
        if seconds:
            cache.set(key, figures, seconds)
    return figures
