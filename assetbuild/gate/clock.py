"""Verdicts that depend on the clock, judged again at every build and check without the data.

A `freshness` verdict keeps the data's own figure (the newest timestamp) with its result; a
stored verdict is then compared with the clock each time it is used, so data that was fresh a
minute ago and is stale now fails now — no hour-long cache, and no data read to find it out.
A passing "not in the future" bound (`max: now`) stays passing as the clock moves on; other
bounds against `now` run on the data again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from assetbuild.gate.outcome import result_of
from assetbuild.gate.rules import Rule, RuleSet
from assetbuild.gate.specs import format_duration
from assetbuild.model.results import CheckResult


def utc_now() -> dt.datetime:
    """The clock every clock-dependent rule reads (one place, so tests can move it)."""
    return dt.datetime.now(dt.UTC)


def freshness_verdict(
    rule: Rule, newest_text: str | None, newest: dt.datetime | None, now: dt.datetime
) -> CheckResult:
    c, max_age = rule.params["column"], float(rule.params["max_age_s"])
    expected = f"newest {c} within {format_duration(max_age)} of {now.isoformat(timespec='seconds')}"
    figures = {"newest": newest.isoformat() if newest is not None else None, "shown": newest_text}
    if newest is None:
        return result_of(rule, False, expected=expected, actual=f"no {c} values", figures=figures)
    age = (now - newest).total_seconds()
    shown = f"newest {newest_text} (age {format_duration(max(age, 0))})"
    return result_of(rule, age <= max_age, expected=expected, actual=shown, figures=figures)


def judge_again(
    ruleset: RuleSet, checks: Sequence[CheckResult], now: dt.datetime
) -> list[CheckResult] | None:
    """The stored results with every clock-dependent one judged against `now`; None when one of
    them cannot be judged from its figures (the rules must run on the data again)."""
    out = []
    for check in checks:
        rule = ruleset.rule(check.name)
        if rule is None or not _uses_clock(rule):
            out.append(check)
            continue
        if rule.kind != "freshness":
            if check.passed and _only_an_upper_bound_of_now(rule):
                out.append(check)  # "not in the future": the data stays put and now only grows
                continue
            return None
        if check.figures is None:
            return None
        newest = check.figures.get("newest")
        fresh = freshness_verdict(
            rule, check.figures.get("shown"), dt.datetime.fromisoformat(newest) if newest else None, now
        )
        out.append(
            dataclasses.replace(check, passed=fresh.passed, expected=fresh.expected, actual=fresh.actual)
        )
    return out


def _only_an_upper_bound_of_now(rule: Rule) -> bool:
    p = rule.params
    if rule.kind == "max":
        return p.get("value") == "now"
    return rule.kind == "between" and p.get("max") == "now" and p.get("min") != "now"


def _uses_clock(rule: Rule) -> bool:
    return rule.kind == "freshness" or "now" in (
        rule.params.get("value"),
        rule.params.get("min"),
        rule.params.get("max"),
    )
