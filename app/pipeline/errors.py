"""Errors of the chat pipeline and the gateway.

A request that cannot fit its budget is the caller's problem (a ValidationFailed,
422, nothing forwarded). Upstream failures are not: they are their own family,
mapped to 502/503/504 in app/api/errors.py.
"""

from __future__ import annotations

from app.domain.errors import FieldError, ValidationFailed


class ContextBudgetExceeded(ValidationFailed):
    """The system prompt plus the protected recent turns alone exceed the budget."""

    title = "Context budget exceeded"

    def __init__(self, needed: int, budget: int, detail: str) -> None:
        over = needed - budget
        message = (f"the system prompt and the protected recent turns need {needed} tokens but the budget is "
                   f"{budget}: {over} tokens over ({detail})")
        super().__init__([FieldError(key="messages", code="context_budget_exceeded", message=message)], message)
        self.extra = {"needed_tokens": needed, "budget_tokens": budget, "over_by_tokens": over}


class UpstreamError(Exception):
    """The upstream model server could not answer; nothing about the request was wrong."""

    def __init__(self, message: str, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.upstream_status = upstream_status


class UpstreamNotConfigured(UpstreamError):
    """No BOTSETTINGS_UPSTREAM_URL: the gateway has nowhere to forward to (503)."""


class UpstreamFailed(UpstreamError):
    """Unreachable, a broken connection, or an error status from upstream (502)."""


class UpstreamTimeout(UpstreamError):
    """Upstream did not answer within BOTSETTINGS_UPSTREAM_TIMEOUT_SECONDS (504)."""
