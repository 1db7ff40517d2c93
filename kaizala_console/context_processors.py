"""Template context for every page."""

from accounts.roles import Role, has_role
from kaizala_console import health


def health_banner(request):
    """Worker and beat problems for the banner that Admins see on every page. A callable, so only a page
    that shows the banner reads the heartbeats (one Redis round trip, no query)."""
    user = getattr(request, "user", None)
    if user is None or not has_role(user, Role.ADMIN):
        return {}
    return {"health_problems": health.problems}
