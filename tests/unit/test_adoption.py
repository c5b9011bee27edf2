"""Pure planning of imports, the tolerant intake, and the bot editor's document (no database)."""

from __future__ import annotations

import pytest

from app.domain import scopes
from app.domain.acceptance import Reason
from app.domain.adoption import delete_stored, from_layers, plan_adoption
from app.domain.bot_document import parse_bot_document, plan_bot_edit, render_bot_document
from app.domain.errors import ValidationFailed
from app.domain.events import ChangeRequest, Op, normalize_request
from app.domain.export_doc import parse_export, render_export
from app.domain.intake import Incoming, from_bots_yaml, from_env, parse_env_file
from app.domain.resolution import LayerValues, build_snapshot
from app.domain.scopes import GLOBAL

MIRA = scopes.bot("mira")


def test_plan_sorts_incoming_into_add_differ_unchanged_and_shadowed() -> None:
    incoming = Incoming(values={GLOBAL: {"temperature": 0.5, "top_p": 0.9},
                                MIRA: {"temperature": 0.8, "top_p": 0.7, "memory_n_results": 3}})
    stored = {GLOBAL: {"temperature": 0.5, "top_p": 0.8}, MIRA: {"temperature": 0.2}}
    plan = plan_adoption(incoming, stored, overwrite=False)
    glob, mira = plan.scopes
    assert (glob.unchanged, [d.key for d in glob.differ], glob.add) == (["temperature"], ["top_p"], {})
    # mira uses the stored global top_p today; importing 0.7 would change it.
    assert mira.add == {"memory_n_results": 3} and mira.shadowed == {"top_p": 0.7}
    assert [(o.scope, o.key, o.value) for o in plan.operations()] == [(MIRA, "memory_n_results", 3)]
    overwrite = plan_adoption(incoming, stored, overwrite=True).operations()
    assert {(str(o.scope), o.key, o.value) for o in overwrite} == {
        ("global", "top_p", 0.9), ("bots/mira", "temperature", 0.8), ("bots/mira", "memory_n_results", 3)}


def test_a_plan_over_its_own_result_is_empty_and_replace_removes_unlisted_keys() -> None:
    incoming = Incoming(values={MIRA: {"temperature": 0.8, "name": "Mira"}})
    assert plan_adoption(incoming, {MIRA: {"name": "Mira", "temperature": 0.8}}, overwrite=True).operations() == []
    plan = plan_adoption(incoming, {MIRA: {"name": "Mira", "top_p": 0.3}}, overwrite=True, replace=True)
    assert plan.scopes[0].remove == {"top_p": 0.3}
    assert {(o.op, o.key) for o in plan.operations()} == {(Op.SET, "temperature"), (Op.DELETE, "top_p")}


def test_progress_hears_of_every_scope() -> None:
    seen: list[tuple[int, int]] = []
    incoming = Incoming(values={scopes.bot(f"b{n}"): {"temperature": 0.1} for n in range(3)})
    plan_adoption(incoming, {}, overwrite=False, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_env_intake_prefers_the_canonical_variable_and_reports_the_rest() -> None:
    incoming = from_env({"LLM_BAWT_MAX_TOKENS": "1", "LLM_BAWT_MAX_OUTPUT_TOKENS": "2", "HOME": "/root",
                         "TAVILY_API_KEY": "t", "LLM_BAWT_TOP_P": "2"})
    assert incoming.values == {GLOBAL: {"max_output_tokens": 2}}
    assert {(i.name, i.reason) for i in incoming.ignored} == {
        ("LLM_BAWT_MAX_TOKENS", Reason.SUPERSEDED), ("TAVILY_API_KEY", Reason.SECRET),
        ("LLM_BAWT_TOP_P", Reason.WRONG_TYPE)}


def test_env_file_parsing() -> None:
    text = '# c\nexport A="x y"\nB=\'q\'\nC=plain # note\n\nnot a line\nD=a=b\n'
    assert parse_env_file(text) == {"A": "x y", "B": "q", "C": "plain", "D": "a=b"}


def test_yaml_intake_is_tolerant_and_never_falls_back_to_the_template_for_a_bad_value() -> None:
    doc = "bot_settings_template: {temperature: 0.5, top_p: 0.9}\nbots:\n  mira:\n    settings: {top_p: high}\n" \
          "  BadSlug: {name: x}\n  nova: [1]\n"
    incoming = from_bots_yaml([("f", doc)], extra_bots=["zed"])
    assert incoming.values[MIRA] == {"temperature": 0.5}
    assert incoming.values[scopes.bot("zed")] == {"temperature": 0.5, "top_p": 0.9}
    assert {(i.name, i.reason) for i in incoming.ignored} == {
        ("bots.mira.settings.top_p", Reason.WRONG_TYPE), ("bots.BadSlug", Reason.WRONG_TYPE),
        ("bots.nova", Reason.WRONG_TYPE)}


def test_bootstrap_layers_give_every_global_key() -> None:
    incoming = from_layers({"temperature": 0.3}, {"mira": {"temperature": 0.9, "name": "Mira", "junk": 1}})
    assert incoming.values[GLOBAL]["temperature"] == 0.3 and incoming.values[GLOBAL]["extraction_model"] is None
    assert incoming.values[MIRA] == {"temperature": 0.9, "name": "Mira"}


def test_retired_deletes_only_for_names_the_registry_no_longer_has() -> None:
    ops, _ = normalize_request(ChangeRequest(ops=[delete_stored(MIRA, "max_tokens")], actor="t"))
    assert ops[0].key == "max_tokens" and ops[0].retired
    bad = delete_stored(MIRA, "max_tokens")
    with pytest.raises(ValidationFailed, match="current key"):
        normalize_request(ChangeRequest(ops=[type(bad)(MIRA, "temperature", Op.DELETE, retired=True)], actor="t"))


def _snapshot():
    layers = LayerValues(bot={"top_p": 0.5}, global_={}, yaml={"system_prompt": "Line 1\nLine 2\n", "name": "Mira"},
                         env={})
    return build_snapshot("mira", 4, layers)


def test_the_bot_document_reads_back_to_no_changes() -> None:
    snap = _snapshot()
    text = render_bot_document("mira", 4, dict(snap.values))
    values, warnings = parse_bot_document(text, "mira")
    assert plan_bot_edit(dict(snap.values), values) == [] and warnings == []


def test_the_bot_document_maps_legacy_names_and_names_lines_of_errors() -> None:
    snap = _snapshot()
    values, warnings = parse_bot_document("max_tokens: 10\nname: Mira\n", "mira")
    assert values == {"max_output_tokens": 10, "name": "Mira"} and "legacy" in warnings[0]
    changes = plan_bot_edit(dict(snap.values), values)
    # top_p (stored) was removed: inherit; everything else removed was not stored: nothing.
    assert [(c.key, c.op) for c in changes] == [("max_output_tokens", Op.SET), ("top_p", Op.DELETE)]
    with pytest.raises(ValidationFailed) as err:
        parse_bot_document("name: Mira\n\nprofile_maintenance_interval_minutes: 5\nbogus: 1\n", "mira")
    assert [e.message.split(":")[0] for e in err.value.errors] == ["line 3", "line 4"]


def test_export_document_round_trip() -> None:
    state = {GLOBAL: {"top_p": 0.5}, MIRA: {"system_prompt": "a\n  b \n", "nextcloud": {"x": [1]}},
             scopes.bot("empty"): {}}
    text = render_export(state)
    assert "empty" not in text
    incoming = parse_export(text, "f")
    assert incoming.values == {GLOBAL: {"top_p": 0.5}, MIRA: {"system_prompt": "a\n  b \n", "nextcloud": {"x": [1]}}}
    assert render_export(incoming.values) == text
