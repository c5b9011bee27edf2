"""Context assembly: system prompt, history window with bridge, budget trimming.

Pure. Decisions (also in docs/gateway.md):
- System and developer messages of the request are the request's own system prompt.
  When the bot allows it (``allow_request_system_prompt``) they are kept where they
  are and the bot's prompt is not added; otherwise they are dropped and the bot's
  prompt (if not empty) goes first.
- The window keeps undated messages (without timestamps there is nothing to judge
  age by), dated ones newer than ``history_duration_seconds``, the last
  ``history_bridge_messages``, and always the last message (the request itself).
  A tool result whose assistant call fell out of the window goes too: upstreams
  refuse orphaned tool results.
- A turn starts at a user message and holds everything up to the next one
  (assistant replies, tool calls and results); messages before the first user
  message form a turn of their own. Trimming evicts whole turns, oldest first, so
  tool calls and their results are never split. The last
  ``memory_protected_recent_turns`` turns are never evicted, nor the current one
  (so 0 still keeps the request's own turn), nor any system message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from app.pipeline.errors import ContextBudgetExceeded
from app.pipeline.request import ChatMessage
from app.pipeline.tokens import TokenCounter


class ContextPolicy(msgspec.Struct, frozen=True, kw_only=True):
    system_prompt: str
    allow_request_system_prompt: bool
    history_duration_seconds: int
    history_bridge_messages: int
    protected_recent_turns: int
    budget_tokens: int


class Assembly(msgspec.Struct, frozen=True, kw_only=True):
    messages: list[dict[str, Any]]  # what goes upstream, in order
    prompt_tokens: int
    system_prompt: str  # "bot", "request" or "none": whose system prompt was used
    system_tokens: int
    messages_received: int
    dropped_by_window: int
    dropped_by_budget: int
    dropped_system_messages: int
    turns: int  # turns after the window
    protected_turns: int


def assemble(messages: Sequence[ChatMessage], policy: ContextPolicy, *, now: float,
             counter: TokenCounter) -> Assembly:
    own_system = [i for i, m in enumerate(messages) if m.is_system]
    use_own = policy.allow_request_system_prompt and bool(own_system)
    head: list[dict[str, Any]] = []
    if not use_own and policy.system_prompt:
        head.append({"role": "system", "content": policy.system_prompt})
    pinned = own_system if use_own else []
    conversation = [i for i, m in enumerate(messages) if not m.is_system]

    kept = _window(messages, conversation, policy, now)
    turns = _turns(messages, kept)
    cost = {i: counter.count_message(messages[i].wire) for i in (*kept, *pinned)}
    system_tokens = sum(counter.count_message(m) for m in head) + sum(cost[i] for i in pinned)
    protected = min(len(turns), max(policy.protected_recent_turns, 1))
    fixed = counter.prompt_overhead() + system_tokens + sum(cost[i] for t in turns[len(turns) - protected:] for i in t)
    if fixed > policy.budget_tokens:
        raise ContextBudgetExceeded(fixed, policy.budget_tokens, f"system prompt {system_tokens} tokens, "
                                    f"last {protected} turn(s) {fixed - system_tokens} tokens")
    total = fixed + sum(cost[i] for t in turns[: len(turns) - protected] for i in t)
    first = 0  # turns before this one are evicted, oldest first
    while total > policy.budget_tokens:
        total -= sum(cost[i] for i in turns[first])
        first += 1
    sent = sorted([*pinned, *(i for t in turns[first:] for i in t)])
    return Assembly(
        messages=head + [messages[i].wire for i in sent], prompt_tokens=total,
        system_prompt="request" if use_own else ("bot" if head else "none"), system_tokens=system_tokens,
        messages_received=len(messages), dropped_by_window=len(conversation) - len(kept),
        dropped_by_budget=sum(len(t) for t in turns[:first]),
        dropped_system_messages=0 if use_own else len(own_system), turns=len(turns), protected_turns=protected)


def _window(messages: Sequence[ChatMessage], conversation: list[int], policy: ContextPolicy,
            now: float) -> list[int]:
    cutoff = now - policy.history_duration_seconds
    bridge_from = len(conversation) - max(policy.history_bridge_messages, 1)
    kept = [i for n, i in enumerate(conversation) if n >= bridge_from or _newer(messages[i], cutoff)]
    calls = {call.get("id") for i in kept for call in (messages[i].wire.get("tool_calls") or [])
             if isinstance(call, dict)}
    return [i for i in kept if not (messages[i].role == "tool" and messages[i].wire.get("tool_call_id") not in calls)]


def _newer(message: ChatMessage, cutoff: float) -> bool:
    return message.timestamp is None or message.timestamp > cutoff


def _turns(messages: Sequence[ChatMessage], kept: list[int]) -> list[list[int]]:
    turns: list[list[int]] = []
    for i in kept:
        if not turns or messages[i].role == "user":
            turns.append([])
        turns[-1].append(i)
    return turns
