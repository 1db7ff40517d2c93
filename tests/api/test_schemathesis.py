"""Schema-driven tests: Schemathesis generates requests for every operation of the schema the live console
serves at /api/schema/ and sends them to it over HTTP with an Operator key. No answer may be a 500, and
every answer must match the schema (status documented, JSON body of the documented shape).

Bounded (a few examples per operation, derandomized) so the run stays under a minute on a loaded machine.
Driven through Schemathesis's Python API (its pytest plugin does not run under pytest 9 yet).
"""

import itertools

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.roles import Role
from tests.security.world import make_world

# Valid requests, and invalid ones (wrong types, missing fields, out-of-range values): each must get a
# documented answer (400 for the invalid), never a 500.
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 10  # per operation and mode


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_every_generated_request_gets_a_documented_answer(live_server, api_key_for, settings_for_run):
    make_world()  # one of everything, so some generated ids exist
    headers = {"Authorization": f"Bearer {api_key_for(Role.OPERATOR)}"}
    schema = schemathesis.openapi.from_dict(requests.get(f"{live_server.url}/api/schema/",
                                                         timeout=30).json())
    failures, ran = {}, 0
    for result, mode in itertools.product(schema.get_all_operations(), MODES):
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:
            failures[f"{operation.label} ({mode.value})"] = str(exc)[:2000]
        ran += 1
    assert ran >= 2 * 20  # the schema's operations were found
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.fixture
def settings_for_run(settings):
    settings.API_KEY_REQUESTS_PER_MINUTE = 100_000  # generated requests come fast; throttling is tested elsewhere
