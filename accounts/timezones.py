"""The time zone a person reads and types times in: theirs if they chose one, else the console's."""

from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.utils import timezone


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Canonical zones only: those of tzdata's zone1970.tab (one per region whose clocks have agreed since
    1970; no links such as Asia/Calcutta or US/Eastern, no legacy ones such as EST5EDT), and UTC."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text(encoding="utf-8")
    names = {line.split("\t")[2] for line in table.splitlines() if line and not line.startswith("#")}
    return [(name, name.replace("_", " ")) for name in ["UTC", *sorted(names & available_timezones())]]


def user_time_zone_name(user) -> str:
    profile = getattr(user, "profile", None) if user.is_authenticated else None
    return (profile.time_zone if profile else "") or settings.TIME_ZONE


class UserTimeZoneMiddleware:
    """Activate the user's time zone for the request: forms read and templates show times in it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(ZoneInfo(user_time_zone_name(user)))
            except (ValueError, KeyError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
