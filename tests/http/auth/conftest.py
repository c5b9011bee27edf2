"""A real server with API tokens configured: one token of each role, and one limited to mira."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from app.config import Config
from tests.support.tokens import write_tokens_file


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    return write_tokens_file(tmp_path)


@pytest.fixture
def config(config: Config, tokens_file: Path) -> Config:
    return msgspec.structs.replace(config, tokens_file=tokens_file, cors_origins=("https://ops.example",))
