"""The test tokens' secrets, made once per run (a plain module, imported once), and a
tokens file holding one token of each role and one limited to mira."""

from __future__ import annotations

from pathlib import Path

from app.domain.access import Role, new_secret, token_line

SECRETS = {name: new_secret() for name in ("reader", "writer", "admin", "mira-writer")}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRETS[name]}"}


def write_tokens_file(directory: Path) -> Path:
    """A tokens file in ``directory``: reader, writer, admin, and mira-writer (limited to mira)."""
    lines = [token_line("reader", Role.READER, SECRETS["reader"]),
             token_line("writer", Role.WRITER, SECRETS["writer"]),
             token_line("admin", Role.ADMIN, SECRETS["admin"]),
             token_line("mira-writer", Role.WRITER, SECRETS["mira-writer"], ["mira"])]
    path = directory / "tokens"
    path.write_text("\n".join(lines) + "\n")
    return path
