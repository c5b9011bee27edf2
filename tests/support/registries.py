"""A registry from before the platform's renames, for tests that write under the old
names and then rename (install the built-in registry again)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.domain import registry
from app.domain.registry import BUILTIN, Kind, Registry, SettingDef

# max_context_tokens as the seed era declared it: 0 = auto (window − output).
OLD_MAX_CONTEXT_TOKENS = SettingDef(key="max_context_tokens", kind=Kind.INT, default=0, area="context",
                                    description="prompt budget; 0 = auto", minimum=0, maximum=10_000_000)
BEFORE_RENAME: Registry = BUILTIN.overlay([OLD_MAX_CONTEXT_TOKENS], retired=["history_tokens"])


@contextmanager
def installed(reg: Registry) -> Iterator[None]:
    """``reg`` as the process's registry for the block; the built-in one afterwards."""
    registry.install(reg)
    try:
        yield
    finally:
        registry.install(BUILTIN)
