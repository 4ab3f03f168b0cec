"""What a rule's run turns into: a CheckResult with a bounded, JSON-able sample of failing rows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from assetbuild.gate.rules import Rule
from assetbuild.model.results import CheckResult

SAMPLE_ROWS = 5


def result_of(rule: Rule, passed: bool, failing_rows: int = 0, expected: str | None = None,
            actual: str | None = None, sample: Sequence[dict[str, Any]] = (),
            figures: dict[str, Any] | None = None) -> CheckResult:  # fmt: skip
    return CheckResult(
        name=rule.name,
        severity=rule.severity,
        passed=passed,
        failing_rows=failing_rows,
        column=rule.column,
        description=rule.description,
        expected=expected,
        actual=actual,
        sample=tuple(sample),
        source=rule.source,
        figures=figures,
    )


def jsonable(value: Any) -> Any:
    """A sample value as JSON can carry it: dates as ISO text, decimals and durations as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return str(value)


def sample_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in df.head(SAMPLE_ROWS).to_dicts()]


def sample_where(df: pl.DataFrame, mask: pl.Series) -> list[dict[str, Any]]:
    # Gather by index rather than `df.filter(mask)`: a rule failing on most rows must not copy the frame.
    return sample_rows(df[mask.arg_true().head(SAMPLE_ROWS)])


def examples(sample: Sequence[dict[str, Any]], column: str | None) -> str:
    if column is None:
        return ""
    seen: list[Any] = []
    for row in sample:
        if row.get(column) not in seen:
            seen.append(row.get(column))
    return ", e.g. " + ", ".join(repr(v) for v in seen[:3]) if seen else ""


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
