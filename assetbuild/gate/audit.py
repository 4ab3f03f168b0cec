"""GATE, the build's side: which rules apply to an asset, their check key, cached or fresh results.

Rules are parsed without polars (checks/rules.py); data is only touched (checks/evaluate.py) when
a check key has no stored result, so an unchanged materialization under unchanged rules is never
re-checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assetbuild.core.keys import check_key
from assetbuild.hashing import hash_json
from assetbuild.model.assets import Project
from assetbuild.model.results import CheckResult, Severity
from assetbuild.model.stored import Current
from assetbuild.trace.protocols import CheckStore

if TYPE_CHECKING:
    import polars as pl

    from assetbuild.gate.rules import RuleSet


@dataclass(frozen=True)
class Audit:
    checks: list[CheckResult]
    check_key: str
    passed: bool  # no error-severity check failed
    ran: bool  # False when served from the check cache


def load_rulesets(project: Project) -> dict[str, RuleSet]:
    if not (project.root / "rules").is_dir():
        return {}
    from assetbuild.gate.rules_cache import load_rules_cached

    return load_rules_cached(project.root, list(project.assets), project.store_dir / "cache" / "rules.json")


def passed(checks: list[CheckResult]) -> bool:
    return all(c.passed or c.severity is Severity.WARN for c in checks)


class Auditor:
    def __init__(
        self,
        project: Project,
        state: CheckStore | None,
        rulesets: Mapping[str, RuleSet],
        read_current: Callable[[str], pl.DataFrame],
        python_callable: Callable[[str, str], Any],
    ) -> None:
        self.project = project
        self.state = state
        self.rulesets = rulesets
        self.read_current = read_current
        self.python_callable = python_callable

    def references(self, asset: str) -> tuple[str, ...]:
        rs = self.rulesets.get(asset)
        return tuple(r for r in (rs.references if rs else ()) if r != asset)

    def has_checks(self, asset: str) -> bool:
        return bool(
            self.rulesets.get(asset)
            or self.project.python_checks.get(asset)
            or self.project.assets[asset].schema_model
        )

    def fingerprint(self, asset: str, content_of: Mapping[str, str | None]) -> str:
        """Everything the outcome of this asset's checks depends on, besides its own data."""
        if not self.has_checks(asset):
            return ""
        rs = self.rulesets.get(asset)
        return hash_json(
            {
                "rules": rs.fingerprint if rs else None,
                "python": sorted(c.fingerprint for c in self.project.python_checks.get(asset, ())),
                "schema": self.project.assets[asset].schema_model,
                # checks that read other assets (references, sql) depend on their data too
                "refs": {r: content_of.get(r) for r in self.references(asset)},
            }
        )

    def key(
        self, asset: str, content_hash: str, content_of: Mapping[str, str | None], previous_rows: int | None
    ) -> str:
        """The check key: the data, the rules and everything else a verdict depends on."""
        rs = self.rulesets.get(asset)
        # row_count_change compares with the rows published before: a verdict reached against
        # 20 previous rows says nothing about the same data after 6
        basis = {"previous_rows": previous_rows} if rs is not None and rs.uses_previous_rows else None
        return check_key(content_hash, self.fingerprint(asset, content_of), basis)

    def cached(
        self,
        asset: str,
        content_hash: str,
        content_of: Mapping[str, str | None],
        previous_rows: int | None,
    ) -> Audit | None:
        """The stored verdict for this data under these rules and this basis, if one was reached."""
        if not self.has_checks(asset):
            return Audit([], "", True, False)  # nothing to check, nothing to key (hot on a no-op)
        key = self.key(asset, content_hash, content_of, previous_rows)
        stored = self.state.checks(key) if self.state else None
        if stored is None:
            return None
        checks = self._on_the_clock(asset, [CheckResult.from_json(d) for d in stored[1]])
        if checks is None:
            return None
        return Audit(checks, key, passed(checks), False)

    def standing(self, asset: str, current: Current, content_of: Mapping[str, str | None]) -> Audit | None:
        """The verdict `current` was published with, if the rules it was reached under still hold.

        None means the checks must run again on the current data (the rules, the data of an asset
        they read, or the hour of a clock-dependent rule changed).
        """
        if not self.has_checks(asset):
            return Audit([], "", True, False)
        if current.check_key is None or self.state is None:
            return None
        stored = self.state.check_record(current.check_key)
        if (
            stored is None
            or stored.content_hash != current.mat.content_hash
            or stored.rules_fingerprint != self.fingerprint(asset, content_of)
        ):
            return None
        checks = self._on_the_clock(asset, [CheckResult.from_json(d) for d in stored.results])
        if checks is None:
            return None
        return Audit(checks, current.check_key, passed(checks), False)

    def _on_the_clock(self, asset: str, checks: list[CheckResult]) -> list[CheckResult] | None:
        """Stored results with clock-dependent verdicts judged against the clock now (freshness
        from the newest timestamp kept with it); None when the rules must run on the data."""
        rs = self.rulesets.get(asset)
        if rs is None or not rs.uses_clock:
            return checks
        from assetbuild.gate import clock

        return clock.judge_again(rs, checks, clock.utc_now())

    def run(
        self,
        asset: str,
        content_hash: str,
        data: Callable[[], pl.DataFrame],
        content_of: Mapping[str, str | None],
        previous_rows: int | None,
    ) -> Audit:
        """The verdict on this data: the stored one if reached before, else the rules run on
        `data()` (read only then)."""
        cached = self.cached(asset, content_hash, content_of, previous_rows)
        if cached is not None:
            return cached
        from assetbuild.gate.context import CheckContext
        from assetbuild.gate.evaluate import run_checks
        from assetbuild.gate.rules import check_columns, check_types

        a = self.project.assets[asset]
        rs = self.rulesets.get(asset)
        df = data()
        if rs is not None:
            check_columns(rs, df.columns)
            check_types(rs, {c: str(t) for c, t in df.schema.items()})
        python_checks = [
            (c.name, Severity(c.severity), self.python_callable(c.path, c.function), c.description)
            for c in self.project.python_checks.get(asset, ())
        ]
        model = self.python_callable(a.path, a.schema_model) if a.schema_model else None
        ctx = CheckContext(
            asset=asset,
            read_asset=self.read_current,
            previous_rows=previous_rows,
            python_checks=python_checks,
            schema_model=model,
        )
        checks = run_checks(rs, df, ctx)
        key = self.key(asset, content_hash, content_of, previous_rows)
        ok = passed(checks)
        if self.state is not None:
            self.state.put_checks(
                key,
                asset,
                content_hash,
                self.fingerprint(asset, content_of),  # without the basis: see `standing`
                ok,
                [c.to_json() for c in checks],
            )
        return Audit(checks, key, ok, True)
