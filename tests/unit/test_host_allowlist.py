"""Which Host names the service answers to (app/http/boundary.py): loopback names and
the bound address by default, BOTSETTINGS_ALLOWED_HOSTS for more."""

from __future__ import annotations

import pytest

from app.config import Config
from app.http.boundary import allowed_hosts, host_name


@pytest.mark.parametrize(("header", "name"), [("localhost:8642", "localhost"), ("[::1]:8642", "::1"),
                                              ("127.0.0.1", "127.0.0.1"), ("Example.ORG:80", "example.org"),
                                              ("::1", "::1"), ("", "")])
def test_host_name_drops_the_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_loopback_and_the_bound_address_by_default() -> None:
    hosts = allowed_hosts("127.0.0.1", [])
    assert hosts is not None and {"localhost", "127.0.0.1", "::1"} <= hosts and "evil.example" not in hosts
    assert "10.0.0.5" in (allowed_hosts("10.0.0.5", []) or set())


def test_more_names_from_the_environment() -> None:
    config = Config.from_env({"BOTSETTINGS_ALLOWED_HOSTS": "settings.example.org, Ops.Example.org"})
    hosts = allowed_hosts(config.host, config.allowed_hosts)
    assert hosts is not None and {"settings.example.org", "ops.example.org"} <= hosts


def test_a_wildcard_bind_without_a_list_checks_no_host_and_star_turns_it_off() -> None:
    assert allowed_hosts("0.0.0.0", []) is None  # serve allows 0.0.0.0 only with tokens
    assert allowed_hosts("0.0.0.0", ["settings.example.org"]) is not None
    assert allowed_hosts("127.0.0.1", ["*"]) is None
