"""A real server with API tokens configured: one token of each role, and one limited to mira."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from app.config import Config
from app.domain.access import Role, token_line
from tests.security.tokens import SECRETS


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    lines = [token_line("reader", Role.READER, SECRETS["reader"]),
             token_line("writer", Role.WRITER, SECRETS["writer"]),
             token_line("admin", Role.ADMIN, SECRETS["admin"]),
             token_line("mira-writer", Role.WRITER, SECRETS["mira-writer"], ["mira"])]
    path = tmp_path / "tokens"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def config(config: Config, tokens_file: Path) -> Config:
    return msgspec.structs.replace(config, tokens_file=tokens_file, cors_origins=("https://ops.example",))
