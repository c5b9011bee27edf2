"""Resolution tests start several runtimes, each standing in for a service process."""

from __future__ import annotations

import pytest

from tests.support.runtimes import MakeRuntime, RuntimeFactory


@pytest.fixture
def make_runtime(runtimes: RuntimeFactory) -> MakeRuntime:
    """``make_runtime(bots_yaml=None, env=None, listen=True, **config)``: another runtime."""
    return runtimes.start
