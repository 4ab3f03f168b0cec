"""What a build, plan or check returns: statuses, reasons, check outcomes; the JSON of DESIGN §5."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assetbuild.model.reasons import Reason


class Status(StrEnum):
    BUILT = "built"
    RESTORED = "restored"
    UP_TO_DATE = "up_to_date"
    FAILED = "failed"
    CHECK_FAILED = "check_failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    # plan only: what a build would do
    WILL_BUILD = "will_build"
    WILL_RESTORE = "will_restore"
    PENDING = "pending"  # runs only if an upstream that will be rebuilt changes its data


FAILING = frozenset({Status.FAILED, Status.CHECK_FAILED, Status.BLOCKED})


class Severity(StrEnum):
    ERROR = "error"
    WARN = "warn"


@dataclass(frozen=True)
class CheckResult:
    """One rule applied to one materialization."""

    name: str  # e.g. "amount.min", "table.row_count", "python:positive_amounts"
    severity: Severity
    passed: bool
    failing_rows: int = 0
    column: str | None = None
    description: str | None = None
    expected: str | None = None
    actual: str | None = None
    sample: tuple[dict[str, Any], ...] = ()  # at most 5 failing rows
    source: str | None = None  # "rules/x.yaml:12" where the rule was written
    # the data's own figures a clock-dependent verdict rests on (e.g. the newest timestamp), so
    # it can be judged again against the clock without reading the data
    figures: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "severity": self.severity.value,
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "column": self.column,
            "description": self.description,
            "expected": self.expected,
            "actual": self.actual,
            "sample": list(self.sample),
            "source": self.source,
        }
        if self.figures is not None:
            d["figures"] = self.figures
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CheckResult:
        return cls(
            name=d["name"],
            severity=Severity(d["severity"]),
            passed=bool(d["passed"]),
            failing_rows=int(d.get("failing_rows") or 0),
            column=d.get("column"),
            description=d.get("description"),
            expected=d.get("expected"),
            actual=d.get("actual"),
            sample=tuple(d.get("sample") or ()),
            source=d.get("source"),
            figures=d.get("figures"),
        )


@dataclass
class AssetResult:
    """What happened to one asset in a build (or would happen, in a plan)."""

    name: str
    kind: str
    status: Status
    reason: str
    duration_s: float = 0.0
    rows: int | None = None
    content_hash: str | None = None
    build_key: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    blocked_by: str | None = None
    bytes: int | None = None
    schema: list[tuple[str, str]] | None = None
    why: Reason | None = None  # the reason as data; `reason` is its text
    log: str | None = None  # project-relative file holding what a Python asset printed, if anything

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "reason": self.reason,
            "why": self.why.to_json() if self.why else [],
            "duration_s": round(self.duration_s, 4),
            "rows": self.rows,
            "content_hash": self.content_hash,
            "build_key": self.build_key,
            "checks": [c.to_json() for c in self.checks],
        }
        if self.error is not None:
            d["error"] = self.error
        if self.blocked_by is not None:
            d["blocked_by"] = self.blocked_by
        if self.log is not None:
            d["log"] = self.log
        return d


@dataclass
class BuildResult:
    run_id: str
    assets: list[AssetResult]
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # delivery failures (exports) after publishing

    @property
    def ok(self) -> bool:
        return not self.errors and not any(a.status in FAILING for a in self.assets)

    @property
    def status(self) -> str:
        return "success" if self.ok else "failed"

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.assets:
            out[a.status.value] = out.get(a.status.value, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "duration_s": round(self.duration_s, 4),
            "assets": [a.to_json() for a in self.assets],
            "summary": self.summary(),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }
