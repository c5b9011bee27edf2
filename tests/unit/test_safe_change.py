"""Pure rules of safe change: the approval policy, who may approve, durations, the
diff of a proposal against now, and judging a guarded change's figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.config import Config, ConfigError
from app.domain import scopes
from app.domain.access import Forbidden, Principal, Role
from app.domain.errors import ValidationFailed
from app.domain.guards import Thresholds, judge, revert_reason
from app.domain.proposals import (
    ApprovalPolicy,
    ApprovalRequired,
    Proposal,
    check_direct_write,
    check_may_approve,
    diff,
    parse_duration,
)
from app.domain.replies import BotFigures

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _proposal(patches: dict, author: str = "alice") -> Proposal:  # type: ignore[type-arg]
    return Proposal(id=uuid.uuid4(), patches=patches, reason="r", author=author, status="pending", created_at=NOW)


def test_the_policy_protects_what_it_names() -> None:
    mira = scopes.bot("mira")
    check_direct_write(ApprovalPolicy.NONE, [scopes.GLOBAL, mira], None)
    check_direct_write(ApprovalPolicy.GLOBAL, [mira], None)
    with pytest.raises(ApprovalRequired, match="global may only be changed through a change request"):
        check_direct_write(ApprovalPolicy.GLOBAL, [scopes.GLOBAL, mira], None)
    with pytest.raises(ApprovalRequired, match="bots/mira"):
        check_direct_write(ApprovalPolicy.ALL, [mira], None)
    check_direct_write(ApprovalPolicy.ALL, [mira], "incident 12")
    with pytest.raises(ValidationFailed, match="needs a reason"):
        check_direct_write(ApprovalPolicy.ALL, [mira], "  ")


def test_four_eyes_and_roles() -> None:
    p = _proposal({"global": {"temperature": 0.5}, "bots/mira": {"top_p": 0.5}})
    with pytest.raises(Forbidden, match="another person must"):
        check_may_approve(Principal(name="alice", role=Role.ADMIN), p)
    with pytest.raises(Forbidden, match="needs admin"):
        check_may_approve(Principal(name="bob", role=Role.WRITER), p)
    check_may_approve(Principal(name="bob", role=Role.ADMIN), p)
    mira_only = _proposal({"bots/mira": {"top_p": 0.5}})
    check_may_approve(Principal(name="bob", role=Role.WRITER, bots=frozenset({"mira"})), mira_only)
    with pytest.raises(Forbidden, match="limited to bots nova"):
        check_may_approve(Principal(name="bob", role=Role.WRITER, bots=frozenset({"nova"})), mira_only)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1.5h", 5400), ("2d", 172800)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["15", "15 m", "0s", "8d", "-1m", "m", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValidationFailed, match="guard"):
        parse_duration(text)


def test_diff_against_now() -> None:
    p = _proposal({"bots/mira": {"temperature": 0.5, "top_p": None, "max_output_tokens": 100}})
    lines = diff(p, {"bots/mira": {"temperature": 0.5, "top_p": 0.9}})
    assert [(d.key, d.op, d.present, d.changes) for d in lines] == [
        ("max_output_tokens", "set", False, True), ("temperature", "set", True, False),
        ("top_p", "delete", True, True)]


def _f(bot: str, count: int, errors: int = 0, p95: float | None = 100.0, truncated: int = 0) -> BotFigures:
    return BotFigures(bot=bot, count=count, errors=errors, p95_latency_ms=p95, truncated=truncated)


def test_judging_figures() -> None:
    t = Thresholds(min_samples=10)
    before = {"mira": _f("mira", 40, errors=1), "nova": _f("nova", 40)}
    calm = judge(["mira", "nova"], before, {"mira": _f("mira", 20, errors=1), "nova": _f("nova", 20)}, t)
    assert calm.worse == [] and calm.judged == ["mira", "nova"]
    bad = judge(["mira", "nova"], before, {"mira": _f("mira", 20, errors=6, p95=900.0), "nova": _f("nova", 20,
                                                                                                   truncated=5)}, t)
    assert [(f.bot, f.figure) for f in bad.worse] == [("mira", "error_rate"), ("mira", "p95_latency_ms"),
                                                      ("nova", "truncation_rate")]
    assert "mira error rate 2.5% → 30.0% (40 → 20 replies)" in revert_reason(bad.worse, 60)
    assert "mira p95 latency 100 ms → 900 ms" in revert_reason(bad.worse, 60)
    # Too few replies after the change: nothing is judged yet, whatever the rates.
    few = judge(["mira"], before, {"mira": _f("mira", 9, errors=9)}, t)
    assert few.worse == [] and few.judged == [] and few.figures["mira"]["after"]["error_rate"] == 1.0
    # A fast bot's p95 doubling by less than the minimum increase is noise.
    assert judge(["mira"], {"mira": _f("mira", 40, p95=40.0)}, {"mira": _f("mira", 40, p95=90.0)}, t).worse == []


def test_configuration() -> None:
    config = Config.from_env({"BOTSETTINGS_REQUIRE_APPROVAL": "Global", "BOTSETTINGS_GUARD_MIN_SAMPLES": "5",
                              "BOTSETTINGS_GUARD_LATENCY_RATIO": "2"})
    assert (config.require_approval, config.guard_min_samples, config.guard_latency_ratio) == ("global", 5, 2.0)
    with pytest.raises(ConfigError, match="BOTSETTINGS_REQUIRE_APPROVAL"):
        Config.from_env({"BOTSETTINGS_REQUIRE_APPROVAL": "some"})
    with pytest.raises(ConfigError, match="BOTSETTINGS_GUARD_ERROR_RATE_INCREASE"):
        Config.from_env({"BOTSETTINGS_GUARD_ERROR_RATE_INCREASE": "2"})
