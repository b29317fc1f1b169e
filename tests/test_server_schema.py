"""schemathesis against the OpenAPI spec of a running server: no input may cause a 5xx, and
every answer's status code is one the spec documents (400/401/404/413/429 included).

Every operation is called with a valid key (so requests get past auth into the handlers) with a
bounded number of generated examples, so the whole run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from tests.server_harness import LiveServer, server_settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("schema-home")
    with LiveServer(server_settings(home, max_upload_bytes=2_000_000)) as server:
        yield server


@pytest.fixture(scope="module")
def api_key(live: LiveServer) -> str:
    return live.key("fuzz")


def test_no_input_causes_a_server_error_or_an_undocumented_status(live: LiveServer, api_key: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api_key}"}
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=live.url, headers=headers, checks=[not_a_server_error, status_code_conformance]
            )

        check()
        tested.append(operation.label)
    assert "POST /v1/edits" in tested and "GET /v1/jobs/{job_id}" in tested and len(tested) >= 18
