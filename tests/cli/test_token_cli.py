"""`botsettings token create`: a new API token for the tokens file."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli.main import cli
from app.domain.access import Role, authenticate, parse_tokens


def test_token_create_prints_the_secret_once_and_a_line_that_authenticates_it() -> None:
    result = CliRunner().invoke(cli, ["token", "create", "ci-bot", "--role", "writer", "--bots", "mira,nova",
                                      "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["secret"] not in out["line"]
    [token] = parse_tokens("line", out["line"])
    principal = authenticate([token], out["secret"])
    assert (principal.name, principal.role, principal.bots) == ("ci-bot", Role.WRITER, frozenset({"mira", "nova"}))
    refused = CliRunner().invoke(cli, ["token", "create", "no spaces", "--role", "reader"])
    assert refused.exit_code == 3 and "invalid token name" in refused.output
