"""`botsettings bot edit`: $EDITOR is a script that edits the document as a person would."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.adoption import Invoke
from tests.support.database import sql

EDITOR = """\
import json, re, sys
from pathlib import Path
here = Path(__file__).parent
steps = json.loads((here / "steps.json").read_text())
count = here / "count"
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
doc = Path(sys.argv[1])
text = doc.read_text(encoding="utf-8")
(here / f"seen-{n}.yaml").write_text(text, encoding="utf-8")
for pattern, replacement in steps[n]:
    text, found = re.subn(pattern, replacement, text, flags=re.M)
    assert found, pattern
doc.write_text(text, encoding="utf-8")
"""


@pytest.fixture
def editor(tmp_path: Path, files: dict[str, Path]):
    home = tmp_path / "editor"
    home.mkdir()
    (home / "editor.py").write_text(EDITOR)

    def make(*steps: list[tuple[str, str]]) -> dict[str, str]:
        (home / "steps.json").write_text(json.dumps(steps))
        (home / "count").unlink(missing_ok=True)
        return {"EDITOR": f"{sys.executable} {home / 'editor.py'}", "VISUAL": "",
                "BOTSETTINGS_BOTS_YAML": str(files["project_clean"])}
    make.home = home  # type: ignore[attr-defined]
    return make


def test_edit_round_trip_shows_the_diff_and_applies_one_change(invoke: Invoke, editor, db_url: str) -> None:
    env = editor([(r"^temperature: 0\.85$", "temperature: 0.4"),
                  (r"^# nucleus sampling.*\ntop_p: 0\.5\n", ""),
                  (r"warm and curious", "calm and curious")])
    invoke("set", "top_p", "0.5", "--bot", "mira", env=env)
    out = invoke("bot", "edit", "mira", "--yes", "--reason", "calmer", env=env).stdout
    seen = (editor.home / "seen-0.yaml").read_text(encoding="utf-8")
    assert "# sampling temperature · float, 0 ≤ x ≤ 2 · now from: yaml\ntemperature: 0.85\n" in seen
    assert "# nucleus sampling mass · float, 0 < x ≤ 1 · now from: bot\ntop_p: 0.5\n" in seen
    assert "system_prompt: |\n  You are Mira, a warm and curious companion. 🌙" in seen
    assert "bots/mira: 3 change(s)" in out
    assert "~ temperature: 0.85 (from yaml) → 0.4" in out
    assert "- top_p: 0.5 (stored for the bot) → inherits" in out
    assert "    -You are Mira, a warm and curious companion." in out
    assert "    +You are Mira, a calm and curious companion." in out
    stored = json.loads(invoke("list", "--bot", "mira", "--json", env=env).stdout)
    values = {v["key"]: v["value"] for v in stored["values"]}
    # Keys left at their inherited value (history_tokens from bots.yaml…) did not become overrides.
    assert set(values) == {"temperature", "system_prompt"} and values["temperature"] == 0.4
    assert values["system_prompt"].startswith("You are Mira, a calm and curious companion. 🌙")
    assert sql(db_url, "SELECT source, reason, event_count FROM settings_changes ORDER BY first_revision") == [
        ("cli", "", 1), ("cli", "calmer", 3)]


def test_a_type_error_names_the_line_and_the_editor_reopens_until_it_is_fixed(invoke: Invoke, editor,
                                                                              db_url: str) -> None:
    env = editor([(r"^temperature: 0\.85$", "temperature: warm")], [(r"^temperature: warm$", "temperature: 0.3")])
    result = invoke("bot", "edit", "mira", env=env, input="y\ny\n")
    seen = (editor.home / "seen-1.yaml").read_text(encoding="utf-8").splitlines()
    line = seen.index("temperature: warm") + 1  # the second opening shows the user's text, error included
    assert f"line {line}: 'temperature': expected a number, got string \"warm\"" in result.stderr
    assert "Re-open the editor to fix it?" in result.stderr
    assert "~ temperature: 0.85 (from yaml) → 0.3" in result.stdout
    assert "Apply these 1 change(s) to bots/mira as one change?" in result.stdout
    assert invoke("get", "temperature", "--bot", "mira", env=env).stdout.strip() == "0.3"


def test_giving_up_on_an_error_or_declining_writes_nothing(invoke: Invoke, editor, db_url: str) -> None:
    env = editor([(r"^temperature: 0\.85$", "temperature: 9")])
    result = invoke("bot", "edit", "mira", env=env, input="n\n", code=3)
    assert "out of bounds" in result.stderr and "nothing written" in result.stderr
    env = editor([(r"^temperature: 0\.85$", "temperature: 0.1")])
    assert "cancelled: nothing written" in invoke("bot", "edit", "mira", env=env, input="n\n", code=1).stdout
    assert sql(db_url, "SELECT count(*) FROM settings_events") == [(0,)]


def test_no_changes_means_nothing_to_do(invoke: Invoke, editor, db_url: str) -> None:
    env = editor([(r"^# Save and close.*$", "# (read, not changed)")])
    assert "nothing to do" in invoke("bot", "edit", "nova", "--yes", env=env).stdout
    assert "unknown bot 'ghost'" in invoke("bot", "edit", "ghost", env=env, code=5).output
    assert sql(db_url, "SELECT count(*) FROM settings_events") == [(0,)]


def test_bot_show_lists_the_profile_with_sources(invoke: Invoke, editor) -> None:
    env = editor()
    out = invoke("bot", "show", "spark", env=env).stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["name"] == ["Spark", "yaml"] and rows["uses_tools"] == ["false", "default"]
