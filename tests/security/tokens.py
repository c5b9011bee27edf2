"""The test tokens' secrets, made once per run (a plain module, imported once)."""

from __future__ import annotations

from app.domain.access import new_secret

SECRETS = {name: new_secret() for name in ("reader", "writer", "admin", "mira-writer")}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRETS[name]}"}
