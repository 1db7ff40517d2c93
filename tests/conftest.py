"""Project-wide fixtures. Each area's fixtures live in tests/fixtures/ and are registered here."""

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.users",
    "tests.fixtures.browser",
    "tests.fixtures.celery_worker",
    "tests.fixtures.console",
    "tests.fixtures.health",
]
