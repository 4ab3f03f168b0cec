"""`assetbuild check`: run the rules on the current data of selected assets, as a CI gate."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from .audit import Auditor, load_rulesets
from .definitions.loader import load_project
from .results import AssetResult, BuildResult, Status
from .runids import new_run_id
from .selection import select as select_assets
from .trace.objects import ObjectStore
from .trace.state import State


def check_assets(project_dir: str | Path = ".", select: Sequence[str] = ()) -> BuildResult:
    import polars as pl

    project = load_project(project_dir)
    t0 = time.perf_counter()
    state = State.open(project.store_dir)
    assert state is not None
    objects = ObjectStore(project.store_dir)
    try:
        current = state.current(project.environment)
        content_of: dict[str, str | None] = {n: c.mat.content_hash for n, c in current.items()}

        def read(name: str) -> pl.DataFrame:
            return pl.read_parquet(objects.path(current[name].mat.object))

        auditor = Auditor(project, state, load_rulesets(project), read, _python_attr(project.root))
        out = []
        for name in select_assets(project, select):
            a = project.assets[name]
            cur = current.get(name)
            if cur is None:
                out.append(AssetResult(name, a.kind.value, Status.SKIPPED, "never built: nothing to check"))
                continue
            t = time.perf_counter()
            audit = auditor.cached(name, cur.mat.content_hash, content_of) or auditor.run(
                name, cur.mat.content_hash, read(name), content_of, None
            )
            state.set_current_checks(project.environment, name, audit.check_key, audit.passed)
            out.append(
                AssetResult(
                    name,
                    a.kind.value,
                    Status.UP_TO_DATE if audit.passed else Status.CHECK_FAILED,
                    "checks pass" if audit.passed else "fails an error rule",
                    time.perf_counter() - t,
                    rows=cur.mat.rows,
                    content_hash=cur.mat.content_hash,
                    build_key=cur.mat.build_key,
                    checks=audit.checks,
                )
            )
        return BuildResult(new_run_id(), out, time.perf_counter() - t0)
    finally:
        state.close()


def _python_attr(root: Path):  # type: ignore[no-untyped-def]
    loader = None

    def get(relpath: str, name: str) -> object:
        nonlocal loader
        if loader is None:
            from .executor.python import ModuleLoader

            loader = ModuleLoader(root)
        return loader.function(relpath, name)

    return get
