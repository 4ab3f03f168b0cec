"""What a build would do and why, without running, locking or writing anything.

An asset downstream of one that will run cannot be decided before that run (early cutoff may
stop the wave), so it is reported `pending` with the upstream it waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .audit import Auditor, load_rulesets
from .definitions.loader import load_project
from .definitions.model import Kind
from .rebuilder import decide
from .results import AssetResult, BuildResult, Status
from .selection import select as select_assets
from .trace.keys import build_key, key_parts
from .trace.objects import ObjectStore
from .trace.state import Materialization, State


def plan(
    project_dir: str | Path = ".",
    select: Sequence[str] = (),
    force: bool = False,
    environment: str | None = None,
) -> BuildResult:
    project = load_project(project_dir, environment)
    state = State.open(project.store_dir, readonly=True)
    try:
        current = state.current(project.environment) if state else {}
        objects = ObjectStore(project.store_dir)
        auditor = Auditor(project, state, load_rulesets(project), _no_read, _no_call)
        content_of: dict[str, str | None] = {n: c.mat.content_hash for n, c in current.items()}
        unsettled: dict[str, str] = {}  # asset -> the upstream whose new data it waits for
        out: list[AssetResult] = []
        for name in select_assets(project, select):
            a = project.assets[name]
            waits = next((u for u in a.upstream if u in unsettled or content_of.get(u) is None), None)
            if waits is not None:
                unsettled[name] = waits
                out.append(
                    AssetResult(
                        name, a.kind.value, Status.PENDING, f"runs if upstream '{waits}' changes its data"
                    )
                )
                continue
            if a.kind is Kind.SOURCE:
                inputs = [(f"file:{f.path}", f.hash) for f in project.source_files[name]]
            else:
                inputs = [(u, content_of[u] or "") for u in a.upstream]
            parts = key_parts(a.kind.value, a.fingerprint, a.config, inputs)
            key = build_key(parts)
            cur = current.get(name)
            decision = decide(
                key,
                parts,
                cur,
                stored=_stored(state, name, key),
                object_present=lambda m: _present(objects, m.object, m.object_size),
                object_intact=lambda m: _present(objects, m.object, m.object_size),
                force=force,
            )
            if decision.status is Status.UP_TO_DATE:
                assert cur is not None
                audit = auditor.cached(name, cur.mat.content_hash, content_of)
                reason = decision.reason
                if auditor.has_checks(name) and (audit is None or audit.check_key != cur.check_key):
                    reason += "; rules changed: checks will run on the current data"
                elif not cur.checks_passed:
                    reason += "; its data fails its error rules"
                out.append(
                    AssetResult(
                        name,
                        a.kind.value,
                        Status.UP_TO_DATE,
                        reason,
                        rows=cur.mat.rows,
                        content_hash=cur.mat.content_hash,
                        build_key=key,
                    )
                )
            elif decision.status is Status.RESTORED:
                assert decision.restore is not None
                unsettled[name] = name
                out.append(
                    AssetResult(
                        name,
                        a.kind.value,
                        Status.WILL_RESTORE,
                        decision.reason,
                        content_hash=decision.restore.content_hash,
                        build_key=key,
                    )
                )
            else:
                unsettled[name] = name
                out.append(AssetResult(name, a.kind.value, Status.WILL_BUILD, decision.reason, build_key=key))
        return BuildResult(run_id="plan", assets=out)
    finally:
        if state:
            state.close()


def _stored(state: State | None, name: str, key: str) -> Callable[[], list[Materialization]]:
    return lambda: state.find(name, key) if state else []


def _present(objects: ObjectStore, rel: str, size: int) -> bool:
    try:
        return objects.path(rel).stat().st_size == size
    except OSError:
        return False


def _no_read(name: str) -> Any:
    raise RuntimeError("plan reads no data")


def _no_call(path: str, name: str) -> object:
    raise RuntimeError("plan imports no user code")
