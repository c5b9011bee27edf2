"""One chat request + one settings snapshot → the exact upstream request, with provenance.

Pure: the caller gives the snapshot, the clock and the token counter. Every value
is read from the one snapshot, so a change committed meanwhile never mixes in.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.resolution import Snapshot
from app.pipeline.context import Assembly, ContextPolicy, assemble
from app.pipeline.request import ChatRequest
from app.pipeline.tokens import TokenCounter

ANY_MODEL = "*"
# The keys the pipeline reads, reported with their value and source.
USED_KEYS = ("system_prompt", "allow_request_system_prompt", "default_model", "history_tokens",
             "model_context_window_default", "request_output_reserve", "max_output_tokens",
             "history_duration_seconds", "history_bridge_messages",
             "memory_protected_recent_turns", "temperature", "top_p")


class SettingUse(msgspec.Struct, frozen=True):
    value: Any
    source: str  # request | bot | global | yaml | env | default


class ContextReport(msgspec.Struct, frozen=True, kw_only=True):
    budget_tokens: int
    budget_rule: str  # which setting(s) gave the budget
    prompt_tokens: int
    token_counter: str
    system_prompt: str  # bot | request | none
    system_tokens: int
    messages_received: int
    messages_sent: int
    dropped_by_window: int
    dropped_by_budget: int
    dropped_system_messages: int
    turns: int
    protected_turns: int


class Provenance(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    revision: int
    stale: bool
    model: str
    model_source: str  # "request" (upstream_model) or "default_model"
    overrides: dict[str, str]  # key → the request field that overrode it
    settings: dict[str, SettingUse]
    context: ContextReport


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    revision: int
    stale: bool
    stream: bool
    request: dict[str, Any]  # exactly what is sent upstream
    provenance: Provenance


def context_budget(snapshot: Snapshot) -> tuple[int, str]:
    """The platform's rule: the prompt may take the window less the reply's reserve
    (the smaller of ``request_output_reserve`` and ``max_output_tokens``), and raw
    history at most ``history_tokens`` of it."""
    window, output = snapshot["model_context_window_default"], snapshot["max_output_tokens"]
    reserve = min(snapshot["request_output_reserve"], output)
    if reserve >= window:
        raise ValidationFailed([FieldError(key="max_output_tokens", code="no_context_room", message=(
            f"the reply's reserve ({reserve}: min(request_output_reserve, max_output_tokens)) leaves no room "
            f"for a prompt in model_context_window_default ({window}); lower one of them"))])
    prompt = window - reserve
    if snapshot["history_tokens"] < prompt:
        return snapshot["history_tokens"], "history_tokens"
    return prompt, "model_context_window_default − min(request_output_reserve, max_output_tokens)"


def choose_model(request: ChatRequest, snapshot: Snapshot, allowed: Set[str]) -> tuple[str, str]:
    default = snapshot["default_model"]
    wanted = request.upstream_model
    if wanted is None or wanted == default:
        if default is None:
            raise ValidationFailed([FieldError(key="default_model", code="no_model", message=(
                f"bot '{snapshot.bot}' has no default_model; set one (botsettings set default_model NAME "
                f"--bot {snapshot.bot}) or name an allowed model in upstream_model"))])
        return default, "default_model"
    if ANY_MODEL in allowed or wanted in allowed:
        return wanted, "request"
    choices = ", ".join(sorted(allowed)) if allowed else "none (only each bot's default_model)"
    raise ValidationFailed([FieldError(key="upstream_model", code="model_not_allowed", message=(
        f"upstream_model '{wanted}' is not allowed; BOTSETTINGS_ALLOWED_MODELS allows: {choices}"))])


def prepare(request: ChatRequest, snapshot: Snapshot, *, now: float, counter: TokenCounter,
            allowed_models: Set[str]) -> Prepared:
    assert snapshot.bot is not None, "a chat request is always for a bot"
    model, model_source = choose_model(request, snapshot, allowed_models)
    budget, rule = context_budget(snapshot)
    policy = ContextPolicy(
        system_prompt=snapshot["system_prompt"], allow_request_system_prompt=snapshot["allow_request_system_prompt"],
        history_duration_seconds=snapshot["history_duration_seconds"],
        history_bridge_messages=snapshot["history_bridge_messages"],
        protected_recent_turns=snapshot["memory_protected_recent_turns"], budget_tokens=budget)
    ctx = assemble(request.messages, policy, now=now, counter=counter)
    body: dict[str, Any] = {"model": model, "messages": ctx.messages, "temperature": snapshot["temperature"],
                            "top_p": snapshot["top_p"], "max_tokens": snapshot["max_output_tokens"],
                            **request.passthrough}
    if request.stream:
        body["stream"] = True
    provenance = Provenance(
        bot=snapshot.bot, revision=snapshot.revision, stale=snapshot.stale, model=model, model_source=model_source,
        overrides={k: f for k, f in request.override_fields.items()},
        settings={k: SettingUse(snapshot[k], snapshot.source(k).value) for k in USED_KEYS},
        context=_report(ctx, budget, rule, counter.name))
    return Prepared(bot=snapshot.bot, revision=snapshot.revision, stale=snapshot.stale, stream=request.stream,
                    request=body, provenance=provenance)


def _report(ctx: Assembly, budget: int, rule: str, counter: str) -> ContextReport:
    return ContextReport(
        budget_tokens=budget, budget_rule=rule, prompt_tokens=ctx.prompt_tokens, token_counter=counter,
        system_prompt=ctx.system_prompt, system_tokens=ctx.system_tokens, messages_received=ctx.messages_received,
        messages_sent=len(ctx.messages), dropped_by_window=ctx.dropped_by_window,
        dropped_by_budget=ctx.dropped_by_budget, dropped_system_messages=ctx.dropped_system_messages,
        turns=ctx.turns, protected_turns=ctx.protected_turns)
