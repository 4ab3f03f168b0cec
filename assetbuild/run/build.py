"""WIRING: a build = scheduler(rebuilder, executor, gate, listeners) over one project and its store.

`build` runs what must run and publishes what passes its checks; `plan` says what a build would
do and why, running nothing. Heavy libraries are imported only inside work that touches data, so
a build that decides nothing changed never imports polars, duckdb, pandera or user code.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetbuild.core.scheduler import Scheduler
from assetbuild.definitions.loader import load_project
from assetbuild.definitions.settings import format_duration
from assetbuild.deliver.after_build import deliver
from assetbuild.errors import AssetbuildError, AssetFailure
from assetbuild.executor.local import local_executors, module_loader
from assetbuild.executor.protocol import Deadline, Executors, InputRef, StagedOutput
from assetbuild.gate.audit import Audit, Auditor, load_rulesets
from assetbuild.lineage.lazy import LazyLineage, lineage_disabled_for
from assetbuild.model.assets import AssetDef, Kind, Project
from assetbuild.model.events import Listener, RunInfo
from assetbuild.model.reasons import Cause, Reason
from assetbuild.model.results import FAILING, AssetResult, BuildResult, Status
from assetbuild.model.runids import new_run_id
from assetbuild.run.decisions import AssetDecision, Decider, dependencies, never_blocking, what_runs
from assetbuild.sources.probe import observe
from assetbuild.trace.lock import BuildLock
from assetbuild.trace.objects import ObjectStore
from assetbuild.trace.protocols import Objects, TraceStore
from assetbuild.trace.state import Current, Materialization, State

if TYPE_CHECKING:
    import polars as pl

# Backoff between retries of a failing asset: 0.5 s, 1 s, 2 s, ... capped at 30 s.
_BACKOFF_S = 0.5


@dataclass(frozen=True)
class BuildOptions:
    select: tuple[str, ...] = ()
    jobs: int | None = None
    force: bool = False
    fail_fast: bool = False
    wait: bool = True
    environment: str | None = None
    command: str = "build"
    exclude: tuple[str, ...] = ()
    timeout_s: float | None = None  # the whole build's (default: [build] timeout)


@dataclass
class _Shared:
    """What the steps of one build share; written only on the scheduler's thread."""

    content_of: dict[str, str | None] = field(default_factory=dict)
    schema_of: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    current: dict[str, Current] = field(default_factory=dict)


class _Listeners:
    """Fans hooks out to every listener; a listener that raises is recorded, never fatal."""

    def __init__(self, listeners: Sequence[Listener]) -> None:
        self.listeners = list(listeners)
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def __getattr__(self, hook: str) -> Callable[..., None]:
        def call(*args: Any) -> None:
            for listener in self.listeners:
                try:
                    with self._lock:
                        getattr(listener, hook)(*args)
                except Exception as e:  # an observer must never break a build
                    self.errors.append(f"{type(listener).__name__}.{hook}: {type(e).__name__}: {e}")

        return call


class Builder:
    """One build of one project: decides each asset, runs what must run, gates and publishes."""

    def __init__(
        self,
        project: Project,
        state: TraceStore,
        options: BuildOptions,
        listeners: Sequence[Listener],
        objects: Objects | None = None,
        executors: Executors | None = None,
        deliver_results: bool = True,
    ):
        """The stores and executors are seams: a build runs the same over in-memory stores and a
        fake executor (tests/unit), a remote store or another engine."""
        self.project = project
        self.state = state
        self.options = options
        self.env = project.environment
        self.objects: Objects = objects if objects is not None else ObjectStore(project.store_dir)
        self.listeners = _Listeners(listeners)
        self.run_id = new_run_id()
        self.shared = _Shared()
        self.log_dir = project.store_dir / "logs" / self.run_id
        self.executors = (
            executors
            if executors is not None
            else local_executors(project, log_dir=self.log_dir, spill_dir=project.store_dir / "tmp")
        )
        timeout = options.timeout_s if options.timeout_s is not None else project.timeout_s
        self.deadline = (
            Deadline(
                time.monotonic() + timeout, f"the build's timeout ({format_duration(timeout)}) was reached"
            )
            if timeout
            else None
        )
        self.deliver_results = deliver_results
        self.rulesets = load_rulesets(project)
        self.auditor = Auditor(project, state, self.rulesets, self._read_current, self._python_attr)
        self.warnings: list[str] = []
        self.lineage_enabled = False  # set when an OpenLineage listener is attached
        self._damaged: dict[str, str] = {}  # upstream -> why its stored data cannot be used
        self._moved = False  # did this build change any `current` row (pointer or check verdict)?
        self._warmed = False  # has a Python worker been started ahead of need?
        self._names: list[str] = []
        self._done: set[str] = set()  # the assets settled so far

    # -- the build -----------------------------------------------------------------------

    def run(self) -> BuildResult:
        t0 = time.perf_counter()
        project = self.project
        self.shared.current = self.state.current(self.env)
        _prune_logs(self.project.store_dir / "logs")
        self.shared.content_of = {n: c.mat.content_hash for n, c in self.shared.current.items()}
        self.shared.schema_of = {}  # filled as assets settle; older schemas come from `current`
        names = what_runs(project, self.options.select, self.options.exclude, self.shared.current)
        self._names = names
        deps = dependencies(project, self.auditor, names)
        soft = never_blocking(project, self.auditor, names, deps)  # a warn rule never blocks
        # the sources as they are now: the build key of each source is made of what this sees
        self.observed = observe(project, names)
        self.decider = Decider(
            project,
            self.auditor,
            self.shared.current,
            self.objects,
            self.state.find,
            self.options.force,
            self.observed,
        )
        self.state.start_run(self.run_id, self.options.command, self.env)
        self.listeners.build_started(project, self.run_id, names)
        jobs = self.options.jobs or project.jobs or _default_jobs()
        scheduler: Scheduler[AssetResult] = Scheduler(
            order=names,
            deps=deps,
            jobs=jobs,
            prepare=self._prepare,
            is_failure=lambda r: r.status in FAILING,
            blocked=self._blocked,
            skipped=lambda n: AssetResult(
                n, project.assets[n].kind.value, Status.SKIPPED, "not started (--fail-fast)"
            ),
            on_settled=self._settled,
            fail_fast=self.options.fail_fast,
            cancel=self.executors.cancel,
            soft=soft,
        )
        try:
            settled = scheduler.run()
        except KeyboardInterrupt:
            # what ran is recorded as it settled; nothing half-done was published (write → audit → publish)
            self.state.finish_run(self.run_id, "interrupted", {}, [])
            raise
        finally:
            self.executors.close()
        result = BuildResult(
            self.run_id, [settled[n] for n in names], time.perf_counter() - t0, self.warnings
        )
        unchanged = None if self._moved else self.shared.current
        if self.deliver_results:
            # a failed build keeps every version for whoever looks into it: no retention
            ok = not any(a.status in FAILING for a in result.assets)
            result.errors.extend(
                deliver(project, self.state, self.env, self.objects, unchanged, result.warnings, retain=ok)
            )
        try:
            self._record(result)
        except (OSError, sqlite3.Error) as e:  # a full disk: the data is published, the log is not
            result.errors.append(f"recording this build in the run history failed: {e}")
        self.listeners.build_finished(project, result)
        result.warnings.extend(self.listeners.errors)
        return result

    def _record(self, result: BuildResult) -> None:
        self.state.finish_run(
            self.run_id,
            result.status,
            result.summary(),
            [
                (
                    a.name,
                    a.status.value,
                    a.reason,
                    a.duration_s,
                    a.error,
                    a.build_key,
                    a.content_hash,
                    a.rows,
                    _json([c.to_json() for c in a.checks]),
                )
                for a in result.assets
            ],
        )

    def _blocked(self, name: str, by: str) -> AssetResult:
        return AssetResult(
            name,
            self.project.assets[name].kind.value,
            Status.BLOCKED,
            f"upstream '{by}' did not succeed",
            blocked_by=by,
        )

    def _settled(self, name: str, result: AssetResult) -> None:
        self._done.add(name)
        if result.status in (Status.BUILT, Status.RESTORED, Status.UP_TO_DATE):
            self.shared.content_of[name] = result.content_hash
            if result.schema is not None:
                self.shared.schema_of[name] = result.schema
        self.listeners.asset_done(result)

    # -- one asset -----------------------------------------------------------------------

    def _prepare(
        self, name: str, upstream: dict[str, AssetResult]
    ) -> AssetResult | Callable[[], AssetResult]:
        d = self.decider.decide(name, self.shared.content_of)
        a = self.project.assets[name]
        if self.deadline is not None and self.deadline.left() <= 0 and d.status is not Status.UP_TO_DATE:
            # a failure, not a skip: a build that did not do its work must not exit 0
            return AssetResult(name, a.kind.value, Status.FAILED, f"not started: {self.deadline.why}")
        if d.status is Status.BLOCKED:
            return AssetResult(
                name, a.kind.value, Status.BLOCKED, str(d.reason), blocked_by=d.blocked_by, why=d.reason
            )
        if d.status is Status.UP_TO_DATE:
            assert d.current is not None
            if d.verdict is not None and d.verdict.passed:
                return self._result(a, Status.UP_TO_DATE, d.reason, d.current.mat, d.verdict, d.key, 0.0)
            if d.verdict is not None:
                # unchanged data that fails its error rules fails every build until fixed: a gate
                # that passes on the second try is no gate
                why = d.reason.plus(Cause.FAILS_RULES)
                return self._result(a, Status.CHECK_FAILED, why, d.current.mat, d.verdict, d.key, 0.0)
            # only the rules changed: check the data we have, recompute nothing
            return lambda: self._recheck(a, d)
        if d.status is Status.RESTORED:
            return lambda: self._restore(a, d)
        return lambda: self._execute(a, d)

    def _recheck(self, a: AssetDef, d: AssetDecision) -> AssetResult:
        t0 = time.perf_counter()
        current, key = d.current, d.key
        assert current is not None
        try:
            # the rows it was compared with when published are not kept: it is its own basis
            audit = self._audit(a, current.mat, self._reader(a.name, current.mat), current.mat.rows)
        except AssetFailure as e:
            return self._failed(a, e, key, t0)
        self.state.set_current_checks(self.env, a.name, current.mat.id, audit.check_key, audit.passed)
        self._moved = True
        status = Status.UP_TO_DATE if audit.passed else Status.CHECK_FAILED
        reason = d.reason.plus(Cause.CHECKS_RERUN if audit.passed else Cause.FAILS_RULES)
        return self._result(a, status, reason, current.mat, audit, key, time.perf_counter() - t0)

    def _restore(self, a: AssetDef, d: AssetDecision) -> AssetResult:
        t0 = time.perf_counter()
        mat, key = d.restore, d.key
        assert mat is not None
        try:
            audit = self.auditor.cached(a.name, mat.content_hash, self.shared.content_of, d.previous_rows)
            if audit is None:
                audit = self._audit(a, mat, self._reader(a.name, mat), d.previous_rows)
        except AssetFailure as e:
            return self._failed(a, e, key, t0)
        if not audit.passed:
            return self._result(
                a,
                Status.CHECK_FAILED,
                d.reason.plus(Cause.FAILS_CHECKS),
                mat,
                audit,
                key,
                time.perf_counter() - t0,
            )
        try:
            self._publish(a, mat, audit)
        except (OSError, sqlite3.Error) as e:
            return self._failed(a, AssetFailure(f"publishing its data failed: {e}"), key, t0)
        return self._result(a, Status.RESTORED, d.reason, mat, audit, key, time.perf_counter() - t0)

    def _execute(self, a: AssetDef, d: AssetDecision) -> AssetResult:
        if not self._warmed and a.kind is not Kind.PYTHON and self._python_may_run():
            self._warmed = True
            try:
                self.executors.warm(Kind.PYTHON.value, "python")
            except Exception as e:  # only a head start; running the asset will say what is wrong
                self.warnings.append(f"starting a worker for Python assets failed: {e}")
        result = self._execute_once(a, d)
        log = self.log_dir / f"{a.name}.log"
        if a.kind is Kind.PYTHON and log.is_file() and log.stat().st_size:
            result.log = str(log.relative_to(self.project.root))
        return result

    def _execute_once(self, a: AssetDef, d: AssetDecision) -> AssetResult:
        t0 = time.perf_counter()
        key, parts, inputs = d.key, d.parts, d.inputs
        info = RunInfo(
            asset=a,
            run_id=new_run_id(),
            parent_run_id=self.run_id,
            inputs=dict(inputs),
            input_schemas={u: s for u in a.upstream if (s := self._schema_of(u)) is not None},
            source_files=self.observed[a.name].files if a.kind is Kind.SOURCE else (),
        )
        self.listeners.asset_started(info)
        try:
            out = self._attempts(a)
            rel, size, file_hash = self.objects.commit(out.path, out.content_hash, _reads_back_as)
            # Recorded as quarantined until its checks pass: a build killed from here on leaves
            # a complete object that the next build can restore, but never a published one.
            mat = self.state.add_materialization(
                a.name,
                key,
                out.content_hash,
                out.rows,
                rel,
                size,
                file_hash,
                out.schema,
                self.run_id,
                True,
                parts,
            )
            frame = out.frame
            data = (lambda: frame) if frame is not None else self._reader(a.name, mat)
            audit = self._audit(a, mat, data, d.previous_rows, info)
        except AssetFailure as e:
            failed = self._failed(a, e, key, t0)
            self.listeners.asset_finished(info, failed, e.user_traceback or e.message)
            return failed
        except OSError as e:
            failed = self._failed(a, AssetFailure(f"writing its data failed: {e}"), key, t0)
            self.listeners.asset_finished(info, failed, str(e))
            return failed
        elapsed = time.perf_counter() - t0
        if not audit.passed:
            rejected = self._result(
                a,
                Status.CHECK_FAILED,
                d.reason.plus(Cause.FAILS_CHECKS),
                mat,
                audit,
                key,
                elapsed,
            )
            self.listeners.asset_finished(info, rejected, None)
            return rejected
        try:
            self._publish(a, mat, audit)
        except (OSError, sqlite3.Error) as e:
            failed = self._failed(a, AssetFailure(f"publishing its data failed: {e}"), key, t0)
            self.listeners.asset_finished(info, failed, str(e))
            return failed
        done = self._result(a, Status.BUILT, d.reason, mat, audit, key, elapsed)
        self.listeners.asset_finished(info, done, None)
        return done

    def _attempts(self, a: AssetDef) -> StagedOutput:
        attempt = 0
        while True:
            try:
                inputs = self._inputs(a)
                staged = self.objects.staging_path(self.run_id, a.name)
                try:
                    return self.executors.run(a, inputs, staged, self._deadline_of(a))
                except BaseException:
                    # a partly written object must not keep the space a full disk needs back
                    with contextlib.suppress(OSError):
                        staged.unlink()
                    raise
            except AssetFailure:
                if attempt >= a.retries:
                    raise
                time.sleep(min(_BACKOFF_S * 2**attempt, 30.0))
                attempt += 1

    def _python_may_run(self) -> bool:
        """Is a Python asset still to be decided? Something upstream of it is running now."""
        return any(self.project.assets[n].kind is Kind.PYTHON and n not in self._done for n in self._names)

    def _deadline_of(self, a: AssetDef) -> Deadline | None:
        """The sooner of the asset's own timeout (counted from now) and the build's."""
        own = (
            Deadline(
                time.monotonic() + a.timeout_s,
                f"it ran longer than its timeout ({format_duration(a.timeout_s)})",
            )
            if a.timeout_s
            else None
        )
        candidates = [d for d in (own, self.deadline) if d is not None]
        return min(candidates, key=lambda d: d.at) if candidates else None

    def _audit(
        self,
        a: AssetDef,
        mat: Materialization,
        data: Callable[[], pl.DataFrame],
        previous_rows: int | None,
        info: RunInfo | None = None,
    ) -> Audit:
        try:
            audit = self.auditor.run(a.name, mat.content_hash, data, self.shared.content_of, previous_rows)
        except AssetbuildError:
            raise
        except Exception as e:  # a bug in a check must not pass as success
            raise AssetFailure(f"running the checks of '{a.name}' failed: {type(e).__name__}: {e}") from None
        if audit.ran and audit.checks and self.lineage_enabled:
            run = info or RunInfo(a, new_run_id(), self.run_id, {}, {})
            try:
                from assetbuild.lineage.metrics import data_quality_metrics

                run.metrics.update(data_quality_metrics(data()))
            except Exception as e:  # metrics only enrich lineage; say so rather than fail
                self.warnings.append(f"{a.name}: data quality metrics for lineage failed: {e}")
            result = self._result(a, Status.BUILT, Reason(()), mat, audit, mat.build_key, 0.0)
            self.listeners.checks_finished(run, result, audit.checks)
        return audit

    def _publish(self, a: AssetDef, mat: Materialization, audit: Audit) -> None:
        self.state.publish(self.env, a.name, mat.id, audit.check_key, audit.passed)
        self._moved = True

    # -- helpers -------------------------------------------------------------------------

    def _schema_of(self, name: str) -> list[tuple[str, str]] | None:
        if name in self.shared.schema_of:
            return self.shared.schema_of[name]
        current = self.shared.current.get(name)
        return current.mat.schema if current else None

    def _inputs(self, a: AssetDef) -> dict[str, InputRef]:
        if a.kind is Kind.SOURCE:
            root = self.project.root
            files = self.observed[a.name].files
            return {f"file:{f.path}": InputRef(f"file:{f.path}", root / f.path, f.hash) for f in files}
        return {u: self._input(u) for u in a.upstream}

    def _input(self, name: str) -> InputRef:
        if name in self._damaged:
            raise AssetFailure(self._damaged[name])
        mat = self._published(name)
        if not self.objects.intact(mat.object, mat.object_size, mat.file_hash):
            # never compute from damaged data; forget the pointer so the next build rebuilds it
            self._damaged[name] = (
                f"the stored data of upstream '{name}' is missing or damaged ({mat.object}); "
                f"run the build again to rebuild it"
            )
            self.state.drop_current(self.env, [name])
            self._moved = True
            raise AssetFailure(self._damaged[name])
        return InputRef(name, self.objects.path(mat.object), mat.content_hash)

    def _published(self, name: str) -> Materialization:
        current = self.state.current_of(self.env, name)
        if current is None:
            # another reader may have just found it damaged and dropped the pointer
            raise AssetFailure(self._damaged.get(name) or f"upstream '{name}' has no published data")
        return current.mat

    def _read_object(self, name: str, mat: Materialization) -> pl.DataFrame:
        import polars as pl

        if not self.objects.intact(mat.object, mat.object_size, mat.file_hash):
            raise AssetFailure(f"the stored data of '{name}' is missing or damaged ({mat.object})")
        return pl.read_parquet(self.objects.path(mat.object))

    def _read_current(self, name: str) -> pl.DataFrame:
        return self._read_object(name, self._published(name))

    def _reader(self, name: str, mat: Materialization) -> Callable[[], pl.DataFrame]:
        """The data of `mat`, read (and verified) once, only if something needs it."""
        frames: list[pl.DataFrame] = []

        def read() -> pl.DataFrame:
            if not frames:
                frames.append(self._read_object(name, mat))
            return frames[0]

        return read

    def _python_attr(self, relpath: str, name: str) -> Any:
        return module_loader(self.executors).function(relpath, name)

    def _result(
        self,
        a: AssetDef,
        status: Status,
        reason: Reason,
        mat: Materialization,
        audit: Audit | None,
        key: str,
        duration: float,
    ) -> AssetResult:
        return AssetResult(
            name=a.name,
            kind=a.kind.value,
            status=status,
            reason=str(reason),
            why=reason,
            duration_s=duration,
            rows=mat.rows,
            content_hash=mat.content_hash,
            build_key=key,
            checks=list(audit.checks) if audit else [],
            bytes=mat.object_size,
            # decoding 10,000 schemas would dominate a no-op build: only new data carries one
            schema=None if status is Status.UP_TO_DATE else mat.schema,
        )

    def _failed(self, a: AssetDef, e: AssetFailure, key: str, t0: float) -> AssetResult:
        error = e.message + (("\n" + e.user_traceback.rstrip()) if e.user_traceback else "")
        return AssetResult(
            a.name,
            a.kind.value,
            Status.FAILED,
            e.message.splitlines()[0][:300],
            time.perf_counter() - t0,
            build_key=key,
            error=error,
        )


# What Python assets printed is kept for the last runs only.
_KEEP_LOGS = 20


def _prune_logs(logs: Path) -> None:
    try:
        runs = sorted(p for p in logs.iterdir() if p.is_dir())  # run ids sort by time (UUIDv7)
    except OSError:
        return
    import shutil

    for old in runs[:-_KEEP_LOGS]:
        shutil.rmtree(old, ignore_errors=True)


def _reads_back_as(path: Path, content_hash: str) -> bool:
    """Whether an existing object whose bytes differ holds the same table (read only then)."""
    from assetbuild.executor.content import parquet_holds

    return parquet_holds(path, content_hash)


def _default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def build(
    project_dir: str | Path = ".",
    select: Sequence[str] = (),
    jobs: int | None = None,
    force: bool = False,
    fail_fast: bool = False,
    wait: bool = True,
    environment: str | None = None,
    listeners: Sequence[Listener] = (),
    on_wait: Callable[[str], None] = lambda msg: None,
    lineage: bool = True,
    exclude: Sequence[str] = (),
    timeout_s: float | None = None,
) -> BuildResult:
    """Build the selected assets incrementally; the Python face of `assetbuild build`."""
    project = load_project(project_dir, environment)
    options = BuildOptions(
        tuple(select), jobs, force, fail_fast, wait, environment, exclude=tuple(exclude), timeout_s=timeout_s
    )
    lock = BuildLock(project.store_dir)
    lock.acquire(wait, on_wait)
    try:
        state = State.open(project.store_dir)
        assert state is not None
        try:
            ObjectStore(project.store_dir).clear_staging()
            builder = Builder(project, state, options, listeners)
            if lineage and not lineage_disabled_for(project):
                builder.listeners.listeners.append(LazyLineage(project, builder.run_id))
                builder.lineage_enabled = True
            return builder.run()
        finally:
            state.close()
    finally:
        lock.release()
