"""The slow suite's hostile fuzz run (bench/hostile_fuzz.py): schemathesis requests for
every operation, bent with nested JSON, invalid UTF-8, Unicode digits, NUL and
overflowing numbers, against a real server process: no 5xx. BOTSETTINGS_FUZZ_EXAMPLES
sets the examples per operation."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bench.hostile_fuzz import MUTATIONS, hostile_fuzz
from bench.process import service_process


@pytest.fixture(scope="module")
def base_url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with service_process(module_db_url, tmp_path_factory.mktemp("hostile-fuzz")) as (url, _):
        yield url


@pytest.mark.slow
def test_bent_requests_never_get_a_server_error(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    failures, counts = hostile_fuzz(base_url, int(os.environ.get("BOTSETTINGS_FUZZ_EXAMPLES", "60")))
    with capsys.disabled():
        print(f"\nhostile fuzz: {sum(counts.values())} requests, 0 expected server errors, found {len(failures)}; "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))
    assert not failures, "\n\n".join(failures)
    assert all(counts[m] >= 20 for m in MUTATIONS), counts
