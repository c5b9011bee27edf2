"""Typed errors of the domain. Each interface maps them to its own form in one place
(HTTP: app/api/errors.py, CLI: app/cli/output.py)."""

from __future__ import annotations

from typing import Any

import msgspec


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One offending key (or field) and what is wrong with it."""

    key: str
    message: str
    code: str = "invalid"
    scope: str | None = None


class BotSettingsError(Exception):
    """Base of every error a user can cause; never a server fault."""

    title = "Bad request"

    def __init__(self, message: str, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.extra = extra


class InvalidScope(BotSettingsError):
    title = "Invalid scope"


class ValidationFailed(BotSettingsError):
    """One or more keys or values were refused; nothing was written."""

    title = "Validation failed"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        if message is None:
            names = ", ".join(dict.fromkeys(e.key for e in errors))
            message = f"{len(errors)} invalid item(s): {names}" if len(errors) > 1 else errors[0].message
        super().__init__(message, errors)


class Conflict(BotSettingsError):
    """An expectation (If-Match) did not hold, or the state forbids the operation."""

    title = "Conflict"


class NotFound(BotSettingsError):
    title = "Not found"


class Gone(BotSettingsError):
    """What was asked for existed but is no longer served (a pin older than the history kept for pins)."""

    title = "Gone"


class TooLarge(BotSettingsError):
    title = "Payload too large"


class BadRequest(BotSettingsError):
    """A malformed parameter: a timestamp, a revision, a cursor, an id (HTTP 400)."""

    title = "Bad request"


class Unavailable(Exception):
    """The database cannot be reached; the operation wrote nothing and may be retried."""
