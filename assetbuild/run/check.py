"""`assetbuild check`: the CI gate. Runs the rules on the current (published) data of selected
assets, and fails while the newest build of one of them did not publish its data.

It holds the build lock throughout (waiting for a running build, as `build` does), verifies each
object's size and byte hash before vouching for it, and records a verdict on `current` only while
`current` still points at the materialization that was judged.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assetbuild.definitions.loader import load_project
from assetbuild.definitions.selection import select as select_assets
from assetbuild.errors import AssetbuildError, AssetFailure
from assetbuild.gate.audit import Audit, Auditor, load_rulesets
from assetbuild.model.assets import Project
from assetbuild.model.results import AssetResult, BuildResult, CheckResult, Severity, Status
from assetbuild.model.runids import new_run_id
from assetbuild.trace.lock import BuildLock
from assetbuild.trace.objects import ObjectStore
from assetbuild.trace.state import Current, Materialization, State

if TYPE_CHECKING:
    import polars as pl

# The gate's own check, beside the rules: the newest build of the asset published its data.
NEWEST_BUILD = "gate:newest_build"


def check_assets(
    project_dir: str | Path = ".",
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    wait: bool = True,
    on_wait: Callable[[str], None] = lambda msg: None,
) -> BuildResult:
    """Check the selected assets; waits for a running build unless `wait=False` (then LockBusy)."""
    project = load_project(project_dir)
    names = select_assets(project, select, exclude=exclude)
    lock = BuildLock(project.store_dir)
    lock.acquire(wait, on_wait)
    try:
        t0 = time.perf_counter()
        state = State.open(project.store_dir)
        assert state is not None
        try:
            gate = _Gate(project, state)
            out = [gate.check(name) for name in names]
        finally:
            state.close()
        return BuildResult(new_run_id(), out, time.perf_counter() - t0)
    finally:
        lock.release()


@dataclass(frozen=True)
class _Behind:
    """Why the published data of an asset is not what its newest build made."""

    status: Status
    reason: str
    actual: str  # for the gate's check: what its newest build did
    blocked_by: str | None = None


class _Gate:
    def __init__(self, project: Project, state: State) -> None:
        self.project = project
        self.state = state
        self.env = project.environment
        self.objects = ObjectStore(project.store_dir)
        self.current = state.current(self.env)
        self.content_of: dict[str, str | None] = {n: c.mat.content_hash for n, c in self.current.items()}
        self.auditor = Auditor(project, state, load_rulesets(project), self._read, _python_attr(project.root))
        self._intact: set[int] = set()  # materializations verified in this check
        self._behind: dict[str, _Behind | None] = {}

    def check(self, name: str) -> AssetResult:
        a = self.project.assets[name]
        t = time.perf_counter()
        cur = self.current.get(name)
        behind = self.behind(name)
        if cur is None:
            if behind is not None:
                return _result(name, a.kind.value, behind, behind.reason + "; it has no published data")
            if self.state.newest_materialization(self.env, name) is not None:
                why = f"it was built, but nothing is published now; `assetbuild build {name}` rebuilds it"
                return AssetResult(name, a.kind.value, Status.FAILED, why, error=why)
            return AssetResult(name, a.kind.value, Status.SKIPPED, "never built: nothing to check")
        status, reasons, checks, error = Status.UP_TO_DATE, [], [], None
        try:
            audit = self._audit(name, cur)
        except AssetFailure as e:
            status, error = Status.FAILED, e.message
            reasons.append(e.message.splitlines()[0][:300])
        else:
            checks = list(audit.checks)
            if not self.state.set_current_checks(self.env, name, cur.mat.id, audit.check_key, audit.passed):
                status = Status.FAILED
                reasons.append(
                    "its published data changed while it was checked; run `assetbuild check` again"
                )
            elif not audit.passed:
                status = Status.CHECK_FAILED
                reasons.append("fails an error rule")
        if behind is not None:
            if status is Status.UP_TO_DATE:
                status = behind.status
            reasons.append(behind.reason + "; downstream reads the older data")
            checks.append(_gate_check(behind))
        return AssetResult(
            name,
            a.kind.value,
            status,
            "; ".join(reasons) or "checks pass",
            time.perf_counter() - t,
            rows=cur.mat.rows,
            content_hash=cur.mat.content_hash,
            build_key=cur.mat.build_key,
            checks=checks,
            error=error,
            blocked_by=behind.blocked_by if behind else None,
        )

    # -- the published data and its rules --------------------------------------------------

    def _audit(self, name: str, cur: Current) -> Audit:
        # the gate vouches for the bytes downstream reads: verify them (and those of the assets
        # its rules read) even when the verdict they were published with still stands
        self._verify(name, cur.mat)
        for ref in self.auditor.references(name):
            if ref in self.current:
                self._verify(ref, self.current[ref].mat)
        audit = self.auditor.standing(name, cur, self.content_of)
        if audit is not None:
            return audit
        try:
            # the same basis as a build's re-check: the rows it was published against are not kept
            return self.auditor.run(
                name, cur.mat.content_hash, lambda: self._read(name), self.content_of, cur.mat.rows
            )
        except AssetbuildError:
            raise
        except Exception as e:  # a bug in a check must not pass, nor end the gate as an internal error
            raise AssetFailure(f"running the checks of '{name}' failed: {type(e).__name__}: {e}") from None

    def _verify(self, name: str, mat: Materialization) -> None:
        if mat.id in self._intact:
            return
        if not self.objects.intact(mat.object, mat.object_size, mat.file_hash):
            raise AssetFailure(
                f"the stored data of '{name}' is missing or damaged ({mat.object}); "
                f"run `assetbuild build --force {name}` to rebuild it"
            )
        self._intact.add(mat.id)

    def _read(self, name: str) -> pl.DataFrame:
        import polars as pl

        cur = self.current.get(name)
        if cur is None:
            raise AssetFailure(f"'{name}' has no published data")
        self._verify(name, cur.mat)
        return pl.read_parquet(self.objects.path(cur.mat.object))

    # -- the newest build ------------------------------------------------------------------

    def behind(self, name: str) -> _Behind | None:
        """Why the newest build of `name` did not publish, when that leaves its data behind."""
        if name not in self._behind:
            self._behind[name] = None  # a cycle through check references ends here
            self._behind[name] = self._newest_build(name)
        return self._behind[name]

    def _newest_build(self, name: str) -> _Behind | None:
        cur = self.current.get(name)
        last = self.state.last_asset_run(self.env, name)
        newest = self.state.newest_materialization(self.env, name)
        if (
            newest is not None
            and newest.quarantined
            and (cur is None or newest.id != cur.mat.id)
            and (last is None or newest.created_at > last.finished_at)
        ):  # written, never judged: that build was killed
            return _Behind(
                Status.FAILED,
                f"its newest build (run {newest.run_id}, {_when(newest.created_at)}) stopped before "
                "its data was checked: not published",
                f"run {newest.run_id} did not finish",
            )
        if last is None:
            return None
        run = f"run {last.run_id}, {_when(last.finished_at)}"
        if last.status == Status.CHECK_FAILED.value:
            if cur is not None and last.content_hash == cur.mat.content_hash:
                return None  # a verdict on the data published now, which this check judges again
            failing = [c["name"] for c in last.checks if not c.get("passed") and c.get("severity") == "error"]
            return _Behind(
                Status.CHECK_FAILED,
                f"its newest build ({run}) failed its checks and was not published",
                f"run {last.run_id} failed " + (", ".join(failing) if failing else "its checks"),
            )
        if last.status == Status.FAILED.value:
            if cur is not None and last.build_key == cur.mat.build_key:
                return None  # same code and inputs as the data published now (a re-check or --force)
            return _Behind(
                Status.FAILED,
                f"its newest build ({run}) failed: {last.reason}",
                f"run {last.run_id} failed: {last.reason}",
            )
        if last.status == Status.BLOCKED.value:
            a = self.project.assets[name]
            for u in (*a.upstream, *self.auditor.references(name)):
                if u in self.project.assets and self.behind(u) is not None:
                    return _Behind(
                        Status.BLOCKED,
                        f"its newest build ({run}) did not run it: upstream '{u}' did not publish",
                        f"run {last.run_id} blocked by '{u}'",
                        blocked_by=u,
                    )
        return None


def _gate_check(behind: _Behind) -> CheckResult:
    """The gate's verdict as a failed error check, so JUnit files and CI annotations show it."""
    return CheckResult(
        name=NEWEST_BUILD,
        severity=Severity.ERROR,
        passed=False,
        description="the newest build of this asset published its data",
        expected="published",
        actual=behind.actual,
    )


def _result(name: str, kind: str, behind: _Behind, reason: str) -> AssetResult:
    return AssetResult(
        name, kind, behind.status, reason, checks=[_gate_check(behind)], blocked_by=behind.blocked_by
    )


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _python_attr(root: Path):  # type: ignore[no-untyped-def]
    loader = None

    def get(relpath: str, name: str) -> object:
        nonlocal loader
        if loader is None:
            from assetbuild.executor.python import ModuleLoader

            loader = ModuleLoader(root)
        return loader.function(relpath, name)

    return get
