"""Jobs tests start runtimes standing in for service processes, each with its own
connections, listener and (when asked) scheduler, on the jobs' bots.yaml."""

from __future__ import annotations

import pytest

from tests.support.runtimes import MakeRuntime, RuntimeFactory
from tests.support.scheduler import scheduling


@pytest.fixture
def make_runtime(runtimes: RuntimeFactory) -> MakeRuntime:
    return scheduling(runtimes)
