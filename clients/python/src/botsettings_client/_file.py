"""The last good copy on disk (opt-in): written atomically after each bootstrap and,
at most every ``interval`` seconds, after changes; read when a process starts while
the service is down, so it serves the last known values — marked stale — instead of
failing or, worse, silently falling back to defaults."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class SnapshotMismatch(Exception):
    """The file was written for another service or another choice of bots."""


def save(path: Path, url: str, bots: list[str] | None, document: dict[str, Any], saved_at: float) -> None:
    body = json.dumps({"format": 1, "url": url, "bots": bots, "saved_at": saved_at, "snapshot": document})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, url: str, bots: list[str] | None) -> tuple[dict[str, Any], float] | None:
    """The saved document and when it was saved; None if there is no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if data.get("format") != 1 or data.get("url") != url or data.get("bots") != bots:
        raise SnapshotMismatch(f"{path} holds a snapshot of {data.get('url')} for bots {data.get('bots')}, "
                               f"not of {url} for bots {bots}")
    return data["snapshot"], float(data["saved_at"])
