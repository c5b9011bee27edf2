"""The client's typed keys (clients/python/.../keys.py) are generated from the registry:
the committed file must match what the generator makes of today's registry."""

from __future__ import annotations

import importlib.util
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[2] / "clients" / "python" / "tools" / "generate_keys.py"


def test_the_committed_keys_module_matches_the_registry() -> None:
    spec = importlib.util.spec_from_file_location("generate_keys", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TARGET.read_text() == module.render(), "run: uv run python clients/python/tools/generate_keys.py"
    assert "'temperature'" in module.render()
