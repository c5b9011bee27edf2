"""Property-based fuzzing of the OpenAPI surface with schemathesis, against a real
service process: uv run python -m bench fuzz [EXAMPLES_PER_OPERATION] (default 1000).
tests/system/test_openapi_fuzz.py runs the same driver with fewer examples."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import hypothesis
import schemathesis
from schemathesis import checks

# What is asked of every response. (Schemathesis's data-acceptance checks are left
# out: the registry's rules — known keys, bounds per scope — are not in the schema,
# so a schema-valid body may rightly get a 422.)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]
# Streams that never end on their own; they are tested directly (tests/http).
UNBOUNDED = {("GET", "/v1/watch")}


def fuzz(base_url: str, examples: int) -> tuple[list[str], int]:
    """Run every operation's generated cases; return the failures found and the cases run."""
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    failures: list[str] = []
    cases = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in UNBOUNDED:
            continue

        @hypothesis.settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            nonlocal cases
            cases += 1
            case.call_and_validate(timeout=10, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # one report per operation, then the others
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures, cases


async def main() -> None:
    from bench.common import fresh_database, report
    from bench.process import service_process

    numbers = [a for a in sys.argv[2:] if a.isdigit()]
    examples = int(numbers[0]) if numbers else 1000
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory() as tmp, service_process(url, Path(tmp)) as (base_url, _):
            started = time.perf_counter()
            failures, cases = fuzz(base_url, examples)
            seconds = time.perf_counter() - started
    for failure in failures:
        print(failure[:2000], file=sys.stderr)
    report("fuzz", [
        {"figure": f"generated cases ({examples} max per operation)", "value": cases, "unit": "", "ok": None},
        {"figure": "cases per second", "value": cases / seconds, "unit": "/s", "ok": None},
        {"figure": "operations with a failure", "value": len(failures), "unit": "", "target": "0",
         "ok": not failures},
    ], {"failures": [f[:2000] for f in failures]})
