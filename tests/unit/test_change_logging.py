"""Each change is logged once, with a bounded line however many keys it touches."""

from __future__ import annotations

from app.domain.events import ItemResult, Op
from app.services.settings import LOGGED_KEYS, _logged_keys


def _items(n: int) -> list[ItemResult]:
    return [ItemResult(scope=f"bots/b{i}", key="temperature", op=Op.SET, changed=True, key_version=1)
            for i in range(n)]


def test_a_small_change_names_every_key() -> None:
    assert _logged_keys(_items(2)) == {"keys": ["bots/b0:temperature", "bots/b1:temperature"]}


def test_a_large_change_names_the_first_keys_and_counts_them_all() -> None:
    logged = _logged_keys(_items(10_000))
    assert len(logged["keys"]) == LOGGED_KEYS and logged["key_count"] == 10_000
