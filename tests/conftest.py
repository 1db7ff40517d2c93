"""Project-wide fixtures. Each area's fixtures live in tests/fixtures/ and are registered here."""

import pytest

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.users",
    "tests.fixtures.browser",
    "tests.fixtures.celery_worker",
    "tests.fixtures.console",
    "tests.fixtures.health",
]


@pytest.fixture(autouse=True)
def _dashboard_totals_counted_every_view(settings):
    """Tests change messages and look at the dashboard again at once: no totals kept between views (the
    keeping itself is tested in tests/messaging/test_dashboard_totals.py)."""
    settings.DASHBOARD_TOTALS_SECONDS = 0
