"""Figures over whole tables (the dashboard's counts and charts), kept for DASHBOARD_TOTALS_SECONDS per web process
and time zone, so a page reloaded by many people does not count every row each time. A page that shows kept figures
says when they were counted (the `as_of` of what `kept` returns). 0 seconds: counted on every call.

When the figures are due again, one thread of the process counts them while the others go on showing the last
ones (their `as_of` says how old), instead of every thread counting the same table at once."""

import threading

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

# A copy is kept this many times DASHBOARD_TOTALS_SECONDS, to be shown while one thread counts anew.
KEPT_FOR = 12
_counting = threading.Lock()


def kept(name: str, compute) -> dict:
    """compute() (a dict), with "as_of" (when it was computed) added, from the cache while it is fresh."""
    seconds = settings.DASHBOARD_TOTALS_SECONDS
    if not seconds:
        return {**compute(), "as_of": timezone.now()}
    key = f"kept:{name}:{timezone.get_current_timezone_name()}"
    figures = cache.get(key)
    if figures is not None and (timezone.now() - figures["as_of"]).total_seconds() < seconds:
        return figures
    # Due: one thread counts; the others show the last figures, when there are any.
    if not _counting.acquire(blocking=figures is None):
        return figures
    try:
        again = cache.get(key)  # counted by the thread this one waited for
        if again is not None and (timezone.now() - again["as_of"]).total_seconds() < seconds:
            return again
        figures = {**compute(), "as_of": timezone.now()}
        cache.set(key, figures, seconds * KEPT_FOR)
    finally:
        _counting.release()
    return figures
