"""Planning the import of the platform's tables (app/domain/platform_import.py), pure."""

from __future__ import annotations

from app.domain.platform_import import Fate, ProfileRow, SettingRow, plan_platform_import
from app.domain.scopes import GLOBAL, bot


def row(id: int, key: str, value_json: str, scope_type: str = "global", scope_id: str = "*") -> SettingRow:
    return SettingRow(id=id, scope_type=scope_type, scope_id=scope_id, key=key, value_json=value_json)


def test_the_current_name_beats_a_legacy_one_and_the_loser_is_refused_naming_the_winner() -> None:
    plan = plan_platform_import([row(1, "max_tokens", "100"), row(2, "max_output_tokens", "200")], [], {},
                                overwrite=False)
    by_id = {r.row_id: r for r in plan.rows}
    assert (by_id[2].fate, by_id[2].value) == (Fate.ADD, 200)
    assert by_id[1].fate is Fate.REFUSED and "runtime_settings row 2" in by_id[1].reason
    assert [(op.key, op.value) for op in plan.operations()] == [("max_output_tokens", 200)]


def test_fates_against_the_stored_state_and_overwrite() -> None:
    rows = [row(1, "temperature", "0.5"), row(2, "top_p", "0.9"), row(3, "search_depth", '"deep"'),
            row(4, "temperature", "[1", "bot", "mira")]
    stored = {GLOBAL: {"temperature": 0.5, "top_p": 0.1}}
    plan = plan_platform_import(rows, [], stored, overwrite=False)
    fates = {r.row_id: r.fate for r in plan.rows}
    assert fates == {1: Fate.UNCHANGED, 2: Fate.DIFFERS, 3: Fate.REFUSED, 4: Fate.REFUSED}
    assert plan.operations() == []
    assert [op.key for op in plan_platform_import(rows, [], stored, overwrite=True).operations()] == ["top_p"]


def test_profile_columns_map_to_keys_and_unknown_columns_are_reported() -> None:
    profile = ProfileRow(id=7, slug="mira", columns={"id": 7, "slug": "mira", "name": "Mira", "tts_mode": False,
                                                     "color": "#fff", "nextcloud_config": {"room": "r"}})
    plan = plan_platform_import([], [profile], {}, overwrite=False)
    ops = {(op.scope, op.key): op.value for op in plan.operations()}
    assert ops == {(bot("mira"), "name"): "Mira", (bot("mira"), "nextcloud"): {"room": "r"}}
    refused = [r.name for r in plan.rows if r.fate is Fate.REFUSED]
    assert refused == ["color"]  # tts_mode is at the platform's default: not worth a line
