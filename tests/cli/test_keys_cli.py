"""botsettings keys list|show, and the CLI's reads of history after a rename."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.registries import BEFORE_RENAME, installed


def test_keys_list_and_show(invoke) -> None:
    listing = invoke("keys", "list")
    assert "max_tool_calls_per_turn" in listing and "global only" in listing and "max_context_tokens" in listing
    agent = json.loads(invoke("keys", "list", "--bot-type", "agent", "--json"))
    assert {"session_model", "timeout_seconds"} <= {k["key"] for k in agent}
    assert "include_summaries" not in {k["key"] for k in agent}
    shown = invoke("keys", "show", "max_context_tokens")  # a legacy name shows its key
    assert "history_tokens" in shown and "renamed from max_context_tokens" in shown and "12000" in shown
    assert "unknown setting 'nope'" in invoke("keys", "show", "nope", code=5)


def test_after_a_rename_the_cli_speaks_of_the_new_name(invoke) -> None:
    with installed(BEFORE_RENAME):
        invoke("set", "max_context_tokens", "64000", "--bot", "mira")
    history = invoke("history", "--bot", "mira")
    assert "history_tokens" in history and "max_context_tokens" not in history
    past = invoke("list", "--bot", "mira", "--as-of", "1")
    assert "history_tokens" in past and "64000" in past
    # the old 0 ("auto") unsets the new name in that scope, as its old events read, and says so
    out = invoke("set", "max_context_tokens", "0", "--bot", "mira")
    assert "bots/mira history_tokens: 64000 → deleted (inherits)" in out  # the warning goes to stderr
    assert "history_tokens" not in invoke("list", "--bot", "mira")


def test_keys_define_change_history_and_retire(invoke) -> None:
    out = invoke("keys", "define", "reply_language", '{"type": "enum", "choices": ["en", "fr"], "default": "en", '
                 '"applies_to": ["chat"], "label": "Reply language"}', "--reason", "new in the platform")
    assert "applied change" in out
    invoke("set", "reply_language", "fr", "--bot", "mira")
    assert invoke("get", "reply_language", "--bot", "mira").strip() == "fr"
    invoke("keys", "define", "reply_language", '{"choices": ["en", "fr", "de"]}', "--reason", "German too")
    history = invoke("keys", "history", "reply_language")
    assert "new in the platform" in history and "German too" in history
    assert "needs a default" in invoke("keys", "define", "x_new", '{"type": "int"}', code=3)
    assert "not JSON" in invoke("keys", "define", "x_new", "{oops", code=3)
    invoke("keys", "retire", "reply_language", "--reason", "dropped")
    assert "retired" in invoke("set", "reply_language", "en", "--bot", "mira", code=3)
    assert "unknown setting 'reply_language' (retired)" in invoke("keys", "show", "reply_language", code=5)


PLATFORM_SCHEMA = {"bot_type": None, "settings": {
    "history_tokens": {"type": "int", "applies_to": ["chat", "agent"], "storage": "runtime_setting",
                       "label": "Raw history token budget", "help": "", "default": 12000,
                       "legacy_keys": ["max_context_tokens"], "ui_widget": ""},
    "voice_style": {"type": "str", "applies_to": ["chat"], "storage": "runtime_setting", "label": "Voice style",
                    "help": "how replies sound", "default": "plain", "legacy_keys": [], "ui_widget": ""},
    "summary_count": {"type": "int", "applies_to": ["chat", "agent"], "storage": "runtime_setting",
                      "label": "Summaries in context", "help": "", "default": 7,
                      "legacy_keys": ["summarization_max_in_context"], "ui_widget": ""},
}}


def test_keys_import_from_a_file_then_from_the_platforms_url(invoke, tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(PLATFORM_SCHEMA))
    dry = invoke("keys", "import", str(path), "--dry-run")
    assert "1 added, 1 changed, 1 unchanged (dry run: nothing written)" in dry
    assert "voice_style" not in invoke("keys", "list")
    assert "applied change" in invoke("keys", "import", str(path))
    assert json.loads(invoke("keys", "show", "voice_style", "--json"))["default"] == "plain"
    assert json.loads(invoke("keys", "show", "summary_count", "--json"))["default"] == 7
    with fake_platform(PLATFORM_SCHEMA) as url:  # the platform's GET /v1/config/schema
        again = invoke("keys", "import", f"{url}/v1/config/schema")
    assert "0 added, 0 changed, 3 unchanged" in again and "nothing changed" not in again
    assert "cannot read the schema" in invoke("keys", "import", str(tmp_path / "missing.json"), code=3)


@contextmanager
def fake_platform(schema: dict) -> Iterator[str]:  # type: ignore[type-arg]
    """A stand-in for the platform's HTTP service (an external server), serving its schema."""
    body = json.dumps(schema).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path.startswith("/v1/config/schema")
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if ok else b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_keys_define_with_options_as_the_platforms_test_key_needs(invoke) -> None:
    """`keys define KEY --type str` (no JSON): the form an operator types to declare the
    platform's CLI test key before its tests run."""
    out = invoke("keys", "define", "test_cli_integration_key", "--type", "str", "--reason", "platform tests")
    assert "applied change" in out
    invoke("set", "test_cli_integration_key", "hello", "--global")
    assert invoke("get", "test_cli_integration_key", "--global").strip() == "hello"
    shown = invoke("keys", "show", "test_cli_integration_key")
    assert "str" in shown
    invoke("keys", "define", "x_limit", "--type", "int", "--default", "20", "--label", "A limit")
    assert "20" in invoke("keys", "show", "x_limit")
    assert "--type" in invoke("keys", "define", "x_empty", code=3)
    assert "JSON object" in invoke("keys", "define", "x_list", "[1]", code=3)
