"""Infrastructure configuration, read once from the environment at start.

These are not runtime settings (those live in the settings store): they say where
the database is, where to listen, where bots.yaml is. Nothing else in the code reads
``os.environ``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import msgspec
import platformdirs

from app.domain.access import Token, TokenFileError, parse_tokens

N = TypeVar("N", int, float)

DEFAULT_PORT = 8642


class ConfigError(Exception):
    """A bad infrastructure setting; the message names the variable."""


class Config(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    # Behind a transaction pooler (PgBouncer pool_mode=transaction) DATABASE_URL names the
    # pooler; what needs a session of its own — the LISTEN connection and the scheduler's
    # advisory-lock leadership — connects here instead (default: DATABASE_URL).
    listen_url: str | None = None
    transaction_pooling: bool = False  # BOTSETTINGS_DATABASE_POOLING=transaction
    data_dir: Path = Path(platformdirs.user_data_dir("botsettings"))
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    bots_yaml: Path | None = None  # None: ./bots.yaml if it exists
    user_bots_yaml: Path | None = None  # layered over bots_yaml
    llm_env: dict[str, str] = {}  # LLM_BAWT_* variables: the environment layer
    listener_poll_seconds: float = 1.0
    log_format: str = "auto"  # auto | json | console
    log_level: str = "info"
    migrate_on_start: bool = True
    max_body_bytes: int = 8 * 1024 * 1024
    snapshot_every: int = 10_000  # revisions between whole-state snapshots (0: never)
    tokens_file: Path | None = None  # API tokens; None: no authentication (loopback only)
    cors_origins: tuple[str, ...] = ()  # empty: CORS off
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides loopback and the bound address
    # The chat gateway (app/pipeline/gateway.py): an OpenAI-compatible base URL (…/v1).
    upstream_url: str | None = None
    upstream_api_key: str | None = None
    upstream_timeout_seconds: float = 60.0
    allowed_models: frozenset[str] = frozenset()  # models a request may pick; "*" = any
    # The reply log (docs/gateway.md#lineage-of-every-reply): off | meta (no message text) | full.
    reply_log: str = "meta"
    reply_log_retention_days: float = 30.0  # replies older than this are deleted by housekeeping
    reply_log_max_rows: int = 1_000_000  # and only the newest this many are kept
    reply_log_prune_interval_minutes: float = 60.0
    # The scheduler (app/scheduler): see docs/jobs.md.
    scheduler: bool = True
    job_webhook_url: str | None = None
    job_webhook_timeout_seconds: float = 10.0
    job_attempts: int = 3  # a failing handler is tried this many times per run
    job_retry_backoff_seconds: float = 2.0  # before the first retry; doubles after each
    job_minute_seconds: float = 60.0  # how long an interval "minute" lasts; tests shorten it
    verify_interval_minutes: float = 60.0  # the housekeeping projection check
    leader_check_seconds: float = 1.0  # how often the leader proves its lock connection is alive
    # Four eyes (docs/change-requests.md): none | global | all — scopes direct writes may not change.
    require_approval: str = "none"
    # Guarded changes (docs/change-requests.md): when a bot's figures have worsened enough to revert.
    guard_min_samples: int = 20
    guard_error_rate_increase: float = 0.05
    guard_truncation_rate_increase: float = 0.05
    guard_latency_ratio: float = 1.5
    guard_latency_min_increase_ms: float = 250.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        kw: dict[str, object] = {}
        if url := env.get("DATABASE_URL"):
            kw["database_url"] = normalize_database_url(url)
        if lu := env.get("BOTSETTINGS_LISTEN_URL"):
            kw["listen_url"] = normalize_database_url(lu, "BOTSETTINGS_LISTEN_URL")
        if pm := env.get("BOTSETTINGS_DATABASE_POOLING"):
            kw["transaction_pooling"] = _choice("BOTSETTINGS_DATABASE_POOLING", pm, ("session", "transaction")) \
                == "transaction"
        if d := env.get("BOTSETTINGS_DATA_DIR"):
            kw["data_dir"] = Path(d).expanduser()
        if h := env.get("BOTSETTINGS_HOST"):
            kw["host"] = h
        if p := env.get("BOTSETTINGS_PORT"):
            kw["port"] = _int("BOTSETTINGS_PORT", p, 1, 65535)
        if y := env.get("BOTSETTINGS_BOTS_YAML"):
            kw["bots_yaml"] = Path(y).expanduser()
        if u := env.get("BOTSETTINGS_USER_BOTS_YAML"):
            kw["user_bots_yaml"] = Path(u).expanduser()
        kw["llm_env"] = {k: v for k, v in env.items() if k.startswith("LLM_BAWT_")}
        if lp := env.get("BOTSETTINGS_LISTENER_POLL_SECONDS"):
            kw["listener_poll_seconds"] = float(_int("BOTSETTINGS_LISTENER_POLL_SECONDS", lp, 1, 60))
        if f := env.get("BOTSETTINGS_LOG_FORMAT"):
            kw["log_format"] = _choice("BOTSETTINGS_LOG_FORMAT", f, ("auto", "json", "console"))
        if lv := env.get("BOTSETTINGS_LOG_LEVEL"):
            kw["log_level"] = _choice("BOTSETTINGS_LOG_LEVEL", lv.lower(),
                                      ("debug", "info", "warning", "error"))
        if m := env.get("BOTSETTINGS_MIGRATE"):
            kw["migrate_on_start"] = _bool("BOTSETTINGS_MIGRATE", m)
        if b := env.get("BOTSETTINGS_MAX_BODY_BYTES"):
            kw["max_body_bytes"] = _int("BOTSETTINGS_MAX_BODY_BYTES", b, 1024, 1 << 30)
        if se := env.get("BOTSETTINGS_SNAPSHOT_EVERY"):
            kw["snapshot_every"] = _int("BOTSETTINGS_SNAPSHOT_EVERY", se, 0, 1_000_000_000)
        if t := env.get("BOTSETTINGS_TOKENS_FILE"):
            kw["tokens_file"] = Path(t).expanduser()
        if c := env.get("BOTSETTINGS_CORS_ORIGINS"):
            kw["cors_origins"] = tuple(o.strip() for o in c.split(",") if o.strip())
        if ah := env.get("BOTSETTINGS_ALLOWED_HOSTS"):
            kw["allowed_hosts"] = tuple(h.strip() for h in ah.split(",") if h.strip())
        if up := env.get("BOTSETTINGS_UPSTREAM_URL"):
            kw["upstream_url"] = _http_url("BOTSETTINGS_UPSTREAM_URL", up)
        if key := env.get("BOTSETTINGS_UPSTREAM_API_KEY"):
            kw["upstream_api_key"] = key
        if t := env.get("BOTSETTINGS_UPSTREAM_TIMEOUT_SECONDS"):
            kw["upstream_timeout_seconds"] = float(_int("BOTSETTINGS_UPSTREAM_TIMEOUT_SECONDS", t, 1, 3600))
        if am := env.get("BOTSETTINGS_ALLOWED_MODELS"):
            kw["allowed_models"] = frozenset(m.strip() for m in am.split(",") if m.strip())
        if ra := env.get("BOTSETTINGS_REQUIRE_APPROVAL"):
            kw["require_approval"] = _choice("BOTSETTINGS_REQUIRE_APPROVAL", ra.strip().lower(),
                                             ("none", "global", "all"))
        kw.update(_guard_env(env))
        kw.update(_scheduler_env(env))
        kw.update(_reply_log_env(env))
        return cls(**kw)  # type: ignore[arg-type]


def load_tokens(config: Config) -> list[Token] | None:
    """The API tokens, or None when no tokens file is configured (authentication off)."""
    if config.tokens_file is None:
        return None
    try:
        text = config.tokens_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"BOTSETTINGS_TOKENS_FILE: cannot read {config.tokens_file}: {exc.strerror}") from None
    try:
        return parse_tokens(str(config.tokens_file), text)
    except TokenFileError as exc:
        raise ConfigError(str(exc)) from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guard_env(env: Mapping[str, str]) -> dict[str, object]:
    kw: dict[str, object] = {}
    if ms := env.get("BOTSETTINGS_GUARD_MIN_SAMPLES"):
        kw["guard_min_samples"] = _int("BOTSETTINGS_GUARD_MIN_SAMPLES", ms, 1, 1_000_000)
    for name, field, lo, hi in (("BOTSETTINGS_GUARD_ERROR_RATE_INCREASE", "guard_error_rate_increase", 0.0, 1.0),
                                ("BOTSETTINGS_GUARD_TRUNCATION_RATE_INCREASE", "guard_truncation_rate_increase",
                                 0.0, 1.0),
                                ("BOTSETTINGS_GUARD_LATENCY_RATIO", "guard_latency_ratio", 1.0, 100.0),
                                ("BOTSETTINGS_GUARD_LATENCY_MIN_INCREASE_MS", "guard_latency_min_increase_ms",
                                 0.0, 600_000.0)):
        if (text := env.get(name)) is not None:
            try:
                value = float(text)
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {text!r}") from None
            if not lo <= value <= hi:
                raise ConfigError(f"{name} must be within {lo:g}…{hi:g}, got {text!r}")
            kw[field] = value
    return kw


def _scheduler_env(env: Mapping[str, str]) -> dict[str, object]:
    kw: dict[str, object] = {}
    if s := env.get("BOTSETTINGS_SCHEDULER"):
        kw["scheduler"] = _bool("BOTSETTINGS_SCHEDULER", s)
    if url := env.get("BOTSETTINGS_JOB_WEBHOOK_URL"):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"BOTSETTINGS_JOB_WEBHOOK_URL must be an http(s):// URL, got {url!r}")
        kw["job_webhook_url"] = url
    if t := env.get("BOTSETTINGS_JOB_WEBHOOK_TIMEOUT_SECONDS"):
        kw["job_webhook_timeout_seconds"] = _float("BOTSETTINGS_JOB_WEBHOOK_TIMEOUT_SECONDS", t, 0.1, 600)
    if a := env.get("BOTSETTINGS_JOB_ATTEMPTS"):
        kw["job_attempts"] = _int("BOTSETTINGS_JOB_ATTEMPTS", a, 1, 20)
    if b := env.get("BOTSETTINGS_JOB_RETRY_BACKOFF_SECONDS"):
        kw["job_retry_backoff_seconds"] = _float("BOTSETTINGS_JOB_RETRY_BACKOFF_SECONDS", b, 0, 3600)
    if m := env.get("BOTSETTINGS_JOB_MINUTE_SECONDS"):
        kw["job_minute_seconds"] = _float("BOTSETTINGS_JOB_MINUTE_SECONDS", m, 0.01, 60)
    if v := env.get("BOTSETTINGS_VERIFY_INTERVAL_MINUTES"):
        kw["verify_interval_minutes"] = _float("BOTSETTINGS_VERIFY_INTERVAL_MINUTES", v, 1, 10080)
    return kw


def _reply_log_env(env: Mapping[str, str]) -> dict[str, object]:
    kw: dict[str, object] = {}
    if mode := env.get("BOTSETTINGS_REPLY_LOG"):
        kw["reply_log"] = _choice("BOTSETTINGS_REPLY_LOG", mode.strip().lower(), ("off", "meta", "full"))
    if d := env.get("BOTSETTINGS_REPLY_LOG_RETENTION_DAYS"):
        kw["reply_log_retention_days"] = _float("BOTSETTINGS_REPLY_LOG_RETENTION_DAYS", d, 0.001, 36500)
    if n := env.get("BOTSETTINGS_REPLY_LOG_MAX_ROWS"):
        kw["reply_log_max_rows"] = _int("BOTSETTINGS_REPLY_LOG_MAX_ROWS", n, 1, 1_000_000_000)
    if m := env.get("BOTSETTINGS_REPLY_LOG_PRUNE_INTERVAL_MINUTES"):
        kw["reply_log_prune_interval_minutes"] = _float("BOTSETTINGS_REPLY_LOG_PRUNE_INTERVAL_MINUTES", m, 1, 10080)
    return kw


def _float(name: str, text: str, lo: float, hi: float) -> float:
    return _number(name, text, lo, hi, float, "a number")


def normalize_database_url(url: str, name: str = "DATABASE_URL") -> str:
    """Accept the usual spellings and use the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ConfigError(f"{name} must be a postgresql:// URL, got {url.split('://')[0]}://…")


def _http_url(name: str, text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {text!r}")
    return text.rstrip("/")


def _int(name: str, text: str, lo: int, hi: int) -> int:
    return _number(name, text, lo, hi, int, "an integer")


def _number(name: str, text: str, lo: N, hi: N, parse: Callable[[str], N], what: str) -> N:
    try:
        value = parse(text)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {text!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {_show(lo)} and {_show(hi)}, got {_show(value)}")
    return value


def _show(number: float) -> str:
    return format(number, "g" if isinstance(number, float) else "")


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off, got {text!r}")


def _choice(name: str, text: str, choices: tuple[str, ...]) -> str:
    if text not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
    return text
