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


def test_the_reply_log_mode_and_retention_come_from_the_environment() -> None:
    config = Config.from_env({"BOTSETTINGS_REPLY_LOG": "FULL", "BOTSETTINGS_REPLY_LOG_RETENTION_DAYS": "7.5",
                              "BOTSETTINGS_REPLY_LOG_MAX_ROWS": "5000",
                              "BOTSETTINGS_REPLY_LOG_PRUNE_INTERVAL_MINUTES": "15"})
    assert (config.reply_log, config.reply_log_retention_days, config.reply_log_max_rows,
            config.reply_log_prune_interval_minutes) == ("full", 7.5, 5000, 15.0)
    default = Config.from_env({})
    assert (default.reply_log, default.reply_log_retention_days, default.reply_log_max_rows) == ("meta", 30.0,
                                                                                                  1_000_000)


@pytest.mark.parametrize(("name", "value"), [("BOTSETTINGS_REPLY_LOG", "everything"),
                                             ("BOTSETTINGS_REPLY_LOG_RETENTION_DAYS", "0"),
                                             ("BOTSETTINGS_REPLY_LOG_MAX_ROWS", "-1"),
                                             ("BOTSETTINGS_REPLY_LOG_PRUNE_INTERVAL_MINUTES", "never")])
def test_bad_reply_log_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})
