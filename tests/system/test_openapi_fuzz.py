"""Property-based fuzzing of the whole OpenAPI surface (schemathesis) against a real
service process: no 5xx, and every response matches the documented schema (status
code, content type, headers, body). BOTSETTINGS_FUZZ_EXAMPLES sets the examples per
operation; `uv run python -m bench fuzz` runs many more."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bench.fuzz import fuzz
from bench.process import service_process


@pytest.fixture(scope="module")
def base_url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with service_process(module_db_url, tmp_path_factory.mktemp("fuzz")) as (url, _):
        yield url


def test_no_server_error_and_every_response_matches_the_schema(base_url: str) -> None:
    failures, cases = fuzz(base_url, int(os.environ.get("BOTSETTINGS_FUZZ_EXAMPLES", "100")))
    assert not failures, "\n\n".join(failures)
    assert cases >= 1000, f"only {cases} cases were generated"
