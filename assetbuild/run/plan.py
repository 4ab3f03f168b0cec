"""What a build would do and why, without running, locking or writing anything.

It walks the same decisions a build makes (decisions.py): the same selection (with never-built
upstream), the same waits (upstream and the assets rules read), the same verification of stored
data. An asset downstream of one that will run cannot be decided before that run (early cutoff
may stop the wave), so it is `pending`, naming the upstream it waits for. A restore whose stored
verdict passes is certain, so what follows it is decided on the restored data; one whose stored
verdict fails, and unchanged data that fails its rules, are certain failures (`check_failed`),
and what waits for them is `blocked`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assetbuild.core.keys import changed_code, key_parts
from assetbuild.definitions.loader import load_project
from assetbuild.gate.audit import Audit, Auditor, load_rulesets
from assetbuild.model.assets import AssetDef
from assetbuild.model.reasons import Because, Cause, Reason
from assetbuild.model.results import AssetResult, BuildResult, Status
from assetbuild.model.stored import Current
from assetbuild.run.decisions import (
    AssetDecision,
    Decider,
    code_parts_of,
    decision_order,
    dependencies,
    never_blocking,
    what_runs,
)
from assetbuild.sources.probe import observe
from assetbuild.trace.objects import ObjectStore
from assetbuild.trace.state import Materialization, State


def plan(
    project_dir: str | Path = ".",
    select: Sequence[str] = (),
    force: bool = False,
    environment: str | None = None,
    exclude: Sequence[str] = (),
) -> BuildResult:
    project = load_project(project_dir, environment)
    state = State.open(project.store_dir, readonly=True)
    try:
        current = state.current(project.environment) if state else {}
        auditor = Auditor(project, state, load_rulesets(project), _no_read, _no_call)
        names = what_runs(project, select, exclude, current)
        objects = ObjectStore(project.store_dir)
        decider = Decider(project, auditor, current, objects, _finder(state), force, observe(project, names))
        deps = dependencies(project, auditor, names)
        soft = never_blocking(project, auditor, names, deps)  # what only warn rules read: never blocks
        content_of: dict[str, str | None] = {n: c.mat.content_hash for n, c in current.items()}
        unsettled: set[str] = set()  # assets whose data after the build is not known yet
        failing: set[str] = set()  # assets certain to fail: what waits for them is blocked
        out: dict[str, AssetResult] = {}
        for name in decision_order(names, deps):
            kind = project.assets[name].kind.value
            fails = next((u for u in deps[name] if u in failing and u not in soft[name]), None)
            if fails is not None:
                failing.add(name)
                why = Reason.of(Cause.UPSTREAM_FAILS, fails)
                out[name] = AssetResult(name, kind, Status.BLOCKED, str(why), blocked_by=fails, why=why)
                continue
            waits = next((u for u in deps[name] if u in unsettled), None)
            if waits is not None:
                unsettled.add(name)
                own = _own_changes(project.assets[name], current.get(name), force)
                then = Cause.RUNS_AFTER_UPSTREAM if own.causes else Cause.WAITS_FOR_UPSTREAM
                why = own.plus(then, waits)
                out[name] = AssetResult(name, kind, Status.PENDING, str(why), why=why)
                continue
            d = decider.decide(name, content_of)
            verdict = _restore_verdict(auditor, d, content_of) if d.status is Status.RESTORED else None
            predicted = _predict(d, kind, verdict)
            out[name] = predicted
            if predicted.status in (Status.CHECK_FAILED, Status.BLOCKED):
                failing.add(name)
            elif d.status is Status.RESTORED and verdict is not None:
                assert d.restore is not None
                content_of[name] = d.restore.content_hash
            elif d.status is not Status.UP_TO_DATE:
                unsettled.add(name)
        return BuildResult(run_id="plan", assets=[out[n] for n in names])
    finally:
        if state:
            state.close()


def _own_changes(a: AssetDef, cur: Current | None, force: bool) -> Reason:
    """What of an asset's own build key changed (it will run, whatever its upstream does)."""
    if force:
        return Reason.of(Cause.FORCED)
    if cur is None:
        return Reason.of(Cause.NEW)
    before = cur.mat.key_parts
    own = key_parts(a.kind.value, a.fingerprint, a.config, [])
    which = changed_code(before, code_parts_of(a))
    changed = [
        Because(cause, which if part == "code" else ())
        for part, cause in (
            ("format", Cause.FORMAT_CHANGED),
            ("kind", Cause.KIND_CHANGED),
            ("code", Cause.CODE_CHANGED),
            ("config", Cause.CONFIG_CHANGED),
        )
        if before.get(part) != own.get(part)
    ]
    return Reason(tuple(changed))


def _predict(d: AssetDecision, kind: str, restore_verdict: Audit | None) -> AssetResult:
    if d.status is Status.UP_TO_DATE:
        assert d.current is not None
        mat = d.current.mat
        if d.verdict is None:
            why = d.reason.plus(Cause.CHECKS_WILL_RUN)
        elif not d.verdict.passed:
            why = d.reason.plus(Cause.FAILS_RULES)
            return _result(d, kind, Status.CHECK_FAILED, why, rows=mat.rows, content_hash=mat.content_hash)
        else:
            why = d.reason
        return _result(d, kind, Status.UP_TO_DATE, why, rows=mat.rows, content_hash=mat.content_hash)
    if d.status is Status.RESTORED:
        assert d.restore is not None
        if restore_verdict is not None and not restore_verdict.passed:
            why = d.reason.plus(Cause.FAILS_CHECKS)
            return _result(d, kind, Status.CHECK_FAILED, why, content_hash=d.restore.content_hash)
        return _result(d, kind, Status.WILL_RESTORE, d.reason, content_hash=d.restore.content_hash)
    if d.status is Status.BLOCKED:
        return _result(d, kind, Status.BLOCKED, d.reason, blocked_by=d.blocked_by)
    return _result(d, kind, Status.WILL_BUILD, d.reason)


def _result(d: AssetDecision, kind: str, status: Status, why: Reason, **kw: Any) -> AssetResult:
    return AssetResult(d.name, kind, status, str(why), build_key=d.key or None, why=why, **kw)


def _restore_verdict(auditor: Auditor, d: AssetDecision, content_of: dict[str, str | None]) -> Audit | None:
    """The stored verdict a restore will be judged by, if one was reached (else checks will run)."""
    assert d.restore is not None
    return auditor.cached(d.name, d.restore.content_hash, content_of, d.previous_rows)


def _finder(state: State | None):  # type: ignore[no-untyped-def]
    def find(name: str, key: str) -> list[Materialization]:
        return state.find(name, key) if state else []

    return find


def _no_read(name: str) -> Any:
    raise RuntimeError("plan reads no data")


def _no_call(path: str, name: str) -> object:
    raise RuntimeError("plan imports no user code")
