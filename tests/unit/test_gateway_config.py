"""The gateway's infrastructure settings, read once from the environment."""

from __future__ import annotations

import pytest

from app.config import Config, ConfigError


def test_upstream_and_allowed_models_come_from_the_environment() -> None:
    config = Config.from_env({"BOTSETTINGS_UPSTREAM_URL": "http://127.0.0.1:11434/v1/",
                              "BOTSETTINGS_UPSTREAM_API_KEY": "sk-x", "BOTSETTINGS_UPSTREAM_TIMEOUT_SECONDS": "5",
                              "BOTSETTINGS_ALLOWED_MODELS": "grok-4, qwen3-8b,,"})
    assert (config.upstream_url, config.upstream_api_key, config.upstream_timeout_seconds) == (
        "http://127.0.0.1:11434/v1", "sk-x", 5.0)
    assert config.allowed_models == {"grok-4", "qwen3-8b"}
    empty = Config.from_env({})
    assert (empty.upstream_url, empty.allowed_models) == (None, frozenset())


@pytest.mark.parametrize(("name", "value"), [("BOTSETTINGS_UPSTREAM_URL", "localhost:8000"),
                                             ("BOTSETTINGS_UPSTREAM_TIMEOUT_SECONDS", "0"),
                                             ("BOTSETTINGS_UPSTREAM_TIMEOUT_SECONDS", "soon")])
def test_bad_gateway_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})
