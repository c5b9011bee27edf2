"""For the jobs tests: the bots.yaml their runtimes read, a recording job handler (a
plugin, as a platform would register through the botsettings.jobs entry points), and
waiting until exactly one runtime leads."""

from __future__ import annotations

from typing import Any

from app.runtime import Runtime
from app.services.job_handlers import JobContext
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime, RuntimeFactory

BOTS_YAML = """
bots:
  mira:
    default_model: grok-4-fast
    settings:
      history_summarization_interval_minutes: 20
  nova:
    default_model: qwen3-8b
  spark: {}
"""


class Recorder:
    """Records every call; the test's stand-in for the platform's summarizer."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.calls: list[JobContext] = []

    async def __call__(self, context: JobContext) -> None:
        self.calls.append(context)


def scheduling(runtimes: RuntimeFactory) -> MakeRuntime:
    """``make_runtime(schedule=True, handlers=None, **config)``: a runtime on BOTS_YAML that
    checks for leadership every 0.2 s and, unless told otherwise, runs a scheduler."""
    async def make(*, schedule: bool = True, handlers: dict[str, Any] | None = None, **overrides: Any) -> Runtime:
        return await runtimes.start(bots_yaml=BOTS_YAML, schedule=schedule, handlers=handlers,
                                    **{"leader_check_seconds": 0.2, **overrides})
    return make


async def leader_of(*runtimes: Runtime, timeout: float = 10.0) -> Runtime:
    """The one runtime of ``runtimes`` whose scheduler leads, once there is exactly one."""
    async def one() -> Runtime | None:
        leaders = [rt for rt in runtimes if rt.scheduler is not None and rt.scheduler.is_leader]
        return leaders[0] if len(leaders) == 1 else None
    leader: Runtime = await eventually(one, timeout)
    return leader
