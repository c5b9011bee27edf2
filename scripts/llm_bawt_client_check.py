"""Run with the platform's (llm-bawt's) own Python, against `botsettings serve` on
127.0.0.1:8642: its `llm --settings-bootstrap` code and its ServiceClient's profile
calls, each checked against what the service then holds. Not part of our test suite:
it needs the platform's code (see scripts/check_llm_bawt.sh, which runs it).

Exit 0 when every check holds; each failed check is printed and counted.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from typing import Any

from llm_bawt.cli import admin_cmd
from llm_bawt.service.client import ServiceClient, get_service_client
from llm_bawt.utils.config import Config

BASE = "http://127.0.0.1:8642"
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def native(path: str) -> Any:
    with urllib.request.urlopen(BASE + path, timeout=10) as response:
        return json.loads(response.read())


def bootstrap(config: Config) -> None:
    """The platform's bootstrap, with the batch it sends and the answer it ignores recorded."""
    sent: list[dict[str, Any]] = []
    answers: list[Any] = []
    original = ServiceClient.batch_set_settings

    def recording(self: ServiceClient, items: list[dict[str, Any]]) -> Any:
        sent.extend(items)
        answer = original(self, items)
        answers.append(answer if answer is not None else self.last_error)
        return answer

    ServiceClient.batch_set_settings = recording  # type: ignore[method-assign]
    check(admin_cmd.bootstrap_runtime_settings(config, None, overwrite=True), "bootstrap says it succeeded")
    check(bool(sent), f"bootstrap sent {len(sent)} items")
    answer = answers[0] if answers else None
    check(isinstance(answer, dict) and answer.get("success") is True
          and answer.get("applied_count") == len(sent), f"the batch was applied whole: {str(answer)[:300]}")
    stored = {(s["scope_type"], s["scope_id"], s["key"]): s["value"]
              for s in native("/v1/settings/all?limit=1000")["settings"]}
    for item in sent:
        where = (item["scope_type"], item["scope_id"] or "*", item["key"])
        check(where in stored and stored[where] == item["value"],
              f"landed: {where[0]}:{where[1]} {where[2]} = {item['value']!r} (stored {stored.get(where)!r})")


def profile(config: Config) -> None:
    client = get_service_client(config)
    before = client.get_bot_profile("nova")
    check(isinstance(before, dict) and before.get("slug") == "nova", "the profile of nova reads")
    payload = {k: before[k] for k in ("name", "description", "requires_memory", "voice_optimized", "tts_mode",
                                      "include_summaries", "include_in_global_search", "uses_tools", "uses_search",
                                      "uses_home_assistant", "default_model", "color", "default_voice",
                                      "nextcloud_config", "bot_type", "agent_backend", "agent_backend_config")}
    marker = "You are Nova (saved by the platform's client for the compatibility check)."
    saved = client.upsert_bot_profile("nova", {**payload, "system_prompt": marker, "color": "teal"})
    check(isinstance(saved, dict) and saved.get("system_prompt") == marker, "the save answers the new profile")
    read = client.get_bot_profile("nova")
    check(read is not None and read["system_prompt"] == marker and read["color"] == "teal",
          "the saved profile reads back (system_prompt, color)")
    events = native("/v1/history?scope=bots/nova&key=system_prompt")["events"]
    check(bool(events) and events[0]["value"] == marker, f"the save is in the history ({len(events)} events)")
    listed = native("/v1/bots/profiles?q=nova")
    check(any(p["slug"] == "nova" and p["system_prompt"] == marker for p in listed["profiles"]),
          "GET /v1/bots/profiles lists it")


def main() -> int:
    config = Config()
    bootstrap(config)
    profile(config)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
