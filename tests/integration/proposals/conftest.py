"""Change-request tests start runtimes standing in for service processes (with a
scheduler when the test needs a leader)."""

from __future__ import annotations

import pytest

from tests.support.runtimes import MakeRuntime, RuntimeFactory
from tests.support.scheduler import scheduling


@pytest.fixture
def make_runtime(runtimes: RuntimeFactory) -> MakeRuntime:
    return scheduling(runtimes)
