"""The reply log's pure rules: what differs between a reply and its replay, status
filters, ids a caller may choose, nearest-rank percentiles."""

from __future__ import annotations

import pytest

from app.domain.replies import SAFE_ID, SettingChange, params_diff, percentile, settings_diff, status_matches


def test_settings_diff_names_each_key_whose_value_or_source_moved() -> None:
    sent = {"temperature": [0.5, "bot"], "top_p": [0.9, "global"], "max_output_tokens": [512, "yaml"]}
    replay = {"temperature": [0.5, "global"], "top_p": [0.9, "global"], "system_prompt": ["hi", "bot"]}
    assert settings_diff(sent, replay) == [
        SettingChange(key="max_output_tokens", sent=[512, "yaml"], replay=None),
        SettingChange(key="system_prompt", sent=None, replay=["hi", "bot"]),
        SettingChange(key="temperature", sent=[0.5, "bot"], replay=[0.5, "global"])]
    assert settings_diff(sent, sent) == []


def test_params_diff_ignores_messages_and_reports_added_fields() -> None:
    assert params_diff({"model": "a", "temperature": 0.5, "messages": [1]},
                       {"model": "a", "temperature": 0.7, "messages": [2], "stream": True}) == {
        "stream": [None, True], "temperature": [0.5, 0.7]}


@pytest.mark.parametrize(("text", "parsed"), [("ok", ("ok", None)), ("error", ("error", None)),
                                              ("502", ("code", 502))])
def test_status_filters(text: str, parsed: tuple[str, int | None]) -> None:
    assert status_matches(text) == parsed


@pytest.mark.parametrize("text", ["fine", "99", "600", "", "5O2"])
def test_bad_status_filters_say_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="ok, error or an HTTP status code"):
        status_matches(text)


def test_ids_are_bounded_and_of_safe_characters() -> None:
    assert SAFE_ID.fullmatch("req_1.a:b-c") and SAFE_ID.fullmatch("x" * 128)
    assert not any(SAFE_ID.fullmatch(t) for t in ("", "x" * 129, "a b", "a\nb", "a/b", "é"))


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.95) is None
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
