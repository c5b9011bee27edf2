"""Guarded changes: judging a change by what the affected bots' replies did after it,
against the same bots in the same span before it. No I/O.

Three figures per bot, from the gateway's reply log: the upstream error rate (replies
answered with an error), the p95 latency, and the truncation rate (replies that
stopped at the output limit, ``finish_reason: length``). A figure *worsens* when it
moves past its threshold; a bot is judged only when both windows hold at least
``min_samples`` replies (too few replies say nothing either way).
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain.replies import BotFigures


class Thresholds(msgspec.Struct, frozen=True, kw_only=True):
    min_samples: int = 20  # replies per bot in each window before a figure is judged
    error_rate_increase: float = 0.05  # absolute: 2% → 7.1% worsens
    truncation_rate_increase: float = 0.05  # absolute
    latency_ratio: float = 1.5  # p95 after > p95 before × this …
    latency_min_increase_ms: float = 250.0  # … and by at least this much (noise on fast bots)


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    figure: str  # error_rate | p95_latency_ms | truncation_rate
    before: float
    after: float
    samples_before: int
    samples_after: int

    def describe(self) -> str:
        if self.figure == "p95_latency_ms":
            values = f"{self.before:.0f} ms → {self.after:.0f} ms"
        else:
            values = f"{self.before:.1%} → {self.after:.1%}"
        name = {"error_rate": "error rate", "p95_latency_ms": "p95 latency",
                "truncation_rate": "truncation rate"}[self.figure]
        return f"{self.bot} {name} {values} ({self.samples_before} → {self.samples_after} replies)"


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    worse: list[Finding]  # empty: nothing worsened (yet)
    judged: list[str]  # bots with enough replies in both windows
    figures: dict[str, Any]  # bot → {"before": {...}, "after": {...}}: recorded with the guard


def _rates(f: BotFigures) -> dict[str, float | None]:
    return {"error_rate": f.errors / f.count if f.count else None,
            "truncation_rate": f.truncated / f.count if f.count else None,
            "p95_latency_ms": float(f.p95_latency_ms) if f.p95_latency_ms is not None else None}


def _shown(f: BotFigures | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"replies": f.count, **{k: (round(v, 4) if v is not None else None) for k, v in _rates(f).items()}}


def judge(bots: list[str], before: dict[str, BotFigures], after: dict[str, BotFigures],
          t: Thresholds) -> Verdict:
    worse: list[Finding] = []
    judged: list[str] = []
    figures: dict[str, Any] = {}
    for bot in bots:
        b, a = before.get(bot), after.get(bot)
        figures[bot] = {"before": _shown(b), "after": _shown(a)}
        if b is None or a is None or b.count < t.min_samples or a.count < t.min_samples:
            continue
        judged.append(bot)
        rb, ra = _rates(b), _rates(a)
        flagged = []
        if (ra["error_rate"] or 0.0) - (rb["error_rate"] or 0.0) > t.error_rate_increase:
            flagged.append("error_rate")
        if (ra["truncation_rate"] or 0.0) - (rb["truncation_rate"] or 0.0) > t.truncation_rate_increase:
            flagged.append("truncation_rate")
        lb, la = rb["p95_latency_ms"], ra["p95_latency_ms"]
        if lb is not None and la is not None and la > lb * t.latency_ratio and la - lb >= t.latency_min_increase_ms:
            flagged.append("p95_latency_ms")
        worse.extend(Finding(bot=bot, figure=f, before=rb[f] or 0.0, after=ra[f] or 0.0, samples_before=b.count,
                             samples_after=a.count) for f in flagged)
    return Verdict(worse=worse, judged=judged, figures=figures)


def revert_reason(worse: list[Finding], window_seconds: float) -> str:
    return (f"guard: within {window_seconds:g} s of the change, " + "; ".join(f.describe() for f in worse)
            + " — worse than in the same span before it")
