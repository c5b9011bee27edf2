"""Tokens and the authorization rule, without a server."""

from __future__ import annotations

import pytest

from app.domain import scopes
from app.domain.access import (
    Action,
    Forbidden,
    Principal,
    Role,
    TokenFileError,
    Unauthenticated,
    authenticate,
    authorize,
    hash_secret,
    new_secret,
    parse_tokens,
    token_line,
)

MIRA, NOVA = scopes.bot("mira"), scopes.bot("nova")


def test_a_token_line_round_trips_and_never_holds_the_secret() -> None:
    secret = new_secret()
    line = token_line("deploy", Role.WRITER, secret, ["mira"])
    assert secret not in line and hash_secret(secret) in line
    [token] = parse_tokens("tokens", f"# comment\n\n{line}  # trailing comment\n")
    assert token.principal == Principal(name="deploy", role=Role.WRITER, bots=frozenset({"mira"}))
    assert authenticate([token], secret) == token.principal


@pytest.mark.parametrize(("line", "fragment"), [
    ("ops admin", "expected NAME ROLE"),
    ("ops root sha256:" + "0" * 64, "unknown role 'root'"),
    ("ops admin s3cr3t-in-clear", "a hash, never the secret"),
    ("ops admin sha256:" + "0" * 64 + " Mira!", "invalid bot slug"),
    ("bad/name admin sha256:" + "0" * 64, "invalid token name"),
])
def test_bad_token_lines_name_the_file_and_line(line: str, fragment: str) -> None:
    with pytest.raises(TokenFileError, match=rf"^tokens.txt, line 2: .*{fragment}"):
        parse_tokens("tokens.txt", f"reader reader sha256:{'1' * 64}\n{line}\n")


def test_a_token_name_used_twice_is_refused() -> None:
    with pytest.raises(TokenFileError, match="used twice"):
        parse_tokens("t", f"a reader sha256:{'1' * 64}\na admin sha256:{'2' * 64}")


def test_unknown_or_missing_secrets_are_unauthenticated() -> None:
    tokens = parse_tokens("t", token_line("a", Role.ADMIN, "right"))
    for secret in (None, "", "wrong", "right "):
        with pytest.raises(Unauthenticated):
            authenticate(tokens, secret)


READER = Principal(name="r", role=Role.READER)
WRITER = Principal(name="w", role=Role.WRITER)
ADMIN = Principal(name="a", role=Role.ADMIN)
MIRA_ONLY = Principal(name="m", role=Role.WRITER, bots=frozenset({"mira"}))


@pytest.mark.parametrize(("principal", "action", "scope", "allowed"), [
    (READER, Action.READ, MIRA, True), (READER, Action.READ, scopes.GLOBAL, True),
    (READER, Action.WRITE, MIRA, False),
    (WRITER, Action.WRITE, MIRA, True), (WRITER, Action.WRITE, scopes.GLOBAL, False),
    (WRITER, Action.WRITE, None, False), (WRITER, Action.ADMIN, None, False),
    (ADMIN, Action.WRITE, scopes.GLOBAL, True), (ADMIN, Action.WRITE, None, True), (ADMIN, Action.ADMIN, None, True),
    (MIRA_ONLY, Action.WRITE, MIRA, True), (MIRA_ONLY, Action.WRITE, NOVA, False),
    (MIRA_ONLY, Action.READ, NOVA, False), (MIRA_ONLY, Action.READ, scopes.GLOBAL, True),
])
def test_roles_and_bot_limits(principal: Principal, action: Action, scope: scopes.Scope | None,
                              allowed: bool) -> None:
    if allowed:
        authorize(principal, action, scope)
    else:
        with pytest.raises(Forbidden, match=f"token '{principal.name}'"):
            authorize(principal, action, scope)


def test_reading_every_scope_at_once_is_refused_to_a_bot_limited_token() -> None:
    authorize(READER, Action.READ, None, every_scope=True)
    authorize(MIRA_ONLY, Action.READ, None)  # a route that holds no scope's data
    with pytest.raises(Forbidden, match="name one scope"):
        authorize(MIRA_ONLY, Action.READ, None, every_scope=True)
