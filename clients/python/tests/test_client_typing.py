"""A misspelt key is a type-checker error in the code that reads settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SNIPPET = '''
from botsettings_client import SettingsClient

client = SettingsClient("http://127.0.0.1:8642", bots=["mira"])
temperature: float | None = client.bot("mira").values()["temperature"]
client.bot("mira").get("{key}")
'''


def mypy(tmp_path: Path, key: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "platform_code.py"
    path.write_text(SNIPPET.replace("{key}", key))
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_a_misspelt_key_fails_type_checking_and_the_right_one_passes(tmp_path: Path) -> None:
    wrong = mypy(tmp_path, "temprature")
    assert wrong.returncode == 1, wrong.stdout
    assert 'Argument 1 to "get" of "BotView" has incompatible type "Literal[\'temprature\']"' in wrong.stdout
    right = mypy(tmp_path, "temperature")
    assert right.returncode == 0, right.stdout
