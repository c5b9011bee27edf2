"""For the adoption tests (migrate, bootstrap, export/import, the bot editor): the
platform's files as a running platform has them, with a few lines of the wrong type."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Invoke = Callable[..., Result]

# The platform's project file: template under an alias, long multi-line prompts,
# unicode, legacy names, unknown keys, misplaced keys. Lines marked `# BAD` hold
# values of the wrong type; the service itself refuses to start on them.
PROJECT_YAML = """\
bot_defaults:                     # an alias of bot_settings_template
  history_tokens: 12000
  history_bridge_messages: 4
  max_tokens: 1024                # legacy name of max_output_tokens
  mystery_knob: 3
bots:
  mira:
    name: Mira
    description: "Compañera de conversación — voz natural ✓"
    voice_optimized: true
    default_model: grok-4-fast
    agent_backend: openclaw
    temperature: 0.9
    system_prompt: |
      You are Mira, a warm and curious companion. 🌙 You remember what people tell you
      and pick up conversations where they left off. Speak naturally, as if aloud.

      Rules:
        - never invent memories;
        - ask before you assume.
      Ünïcödé is fine: 日本語, العربية, emoji 🎉.
    settings:
      history_tokens: 64000
      history_duration_seconds: "a day"   # BAD
      profile_maintenance_interval_minutes: 30
      uses_tools: true
      xai_api_key: sk-not-here
      temperature: 0.85
  nova:
    name: Nova
    requires_memory: false
    uses_tools: true
    nextcloud: {room: ops, enabled: true}
    system_prompt: "You are Nova.\\nAnswer briefly.\\n"
    settings:
      history_duration: 600
      top_p: 0.9
      max_output_tokens: 512
  spark:
    name: Spark
    default_model: llama-3.2-3b
defaults:
  standard: nova
"""

# The user's file, layered over the project's (another template alias).
USER_YAML = """\
bot_settings_defaults:
  temperature: 0.6
bots:
  spark:
    description: Local model for offline use
    uses_search: "yes"              # BAD
"""

# The platform's .env: a legacy name, a wrong type, an unknown variable, infra and a secret.
ENV_FILE = """\
# llm-bawt environment
LLM_BAWT_TEMPERATURE=0.5
export LLM_BAWT_MEMORY_N_RESULTS="7"
LLM_BAWT_MAX_TOKENS=2000
LLM_BAWT_TOP_P=abc                # BAD
LLM_BAWT_FANCY_MODE=on
LLM_BAWT_POSTGRES_HOST=db.local
XAI_API_KEY=sk-secret
LLM_BAWT_PROFILE_MAINTENANCE_INTERVAL_MINUTES=90
"""


def clean(text: str) -> str:
    """The same file without the lines of the wrong type: what a running platform has."""
    return "".join(line for line in text.splitlines(keepends=True) if "# BAD" not in line)


def migrate_args(files: dict[str, Path], suffix: str = "") -> list[str]:
    return ["migrate", "--from-env", "--env-file", str(files["env" + suffix]),
            "--from-bots-yaml", str(files["project" + suffix]), "--from-bots-yaml", str(files["user" + suffix])]
