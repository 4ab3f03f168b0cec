#!/usr/bin/env python3
"""Where one `assetbuild` command spends its wall time, by phase: a profiler without sampling bias.

    .venv/bin/python benchmarks/phases.py [--executors] -- --project DIR build --format json

Runs the CLI in process with a wall-clock timer around assetbuild's main functions (summed over
calls and threads, with call counts), plus the import time before `main` runs. `--executors` also
wraps the executor modules (importing polars and duckdb up front, so leave it off for a no-op).
Names that no longer exist are skipped, so it survives refactors; edit PHASES to follow them.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import sys
import threading
import time
from collections import defaultdict
from typing import Any

T0 = time.perf_counter()

PHASES = [
    "assetbuild.definitions.loader:load_project",
    "assetbuild.definitions.loader:_asset_files",
    "assetbuild.definitions.loader:_sql_asset",
    "assetbuild.definitions.loader:_python_assets",
    "assetbuild.definitions.sql_assets:analyze_sql",
    "assetbuild.definitions.parse_cache:FileCache.__init__",
    "assetbuild.definitions.parse_cache:FileCache.save",
    "assetbuild.definitions.parse_cache:FileCache.file_hash",
    "assetbuild.run.build:build",
    "assetbuild.run.build:Builder.__init__",
    "assetbuild.run.build:Builder.run",
    "assetbuild.run.build:Builder._selection",
    "assetbuild.run.build:Builder._prepare",
    "assetbuild.run.build:Builder._execute",
    "assetbuild.run.build:Builder._run_asset",
    "assetbuild.run.build:Builder._audit",
    "assetbuild.run.build:Builder._publish",
    "assetbuild.run.build:Builder._input_path",
    "assetbuild.run.build:Builder._deliver",
    "assetbuild.run.build:Builder._sql_engine",
    "assetbuild.core.scheduler:Scheduler.run",
    "assetbuild.core.rebuilder:decide",
    "assetbuild.gate.audit:Auditor.cached",
    "assetbuild.gate.audit:load_rulesets",
    "assetbuild.trace.state:State.open",
    "assetbuild.trace.state:State.current",
    "assetbuild.trace.state:State.current_of",
    "assetbuild.trace.state:State.find",
    "assetbuild.trace.state:State.add_materialization",
    "assetbuild.trace.state:State.publish",
    "assetbuild.trace.state:State.start_run",
    "assetbuild.trace.state:State.finish_run",
    "assetbuild.trace.objects:ObjectStore.commit",
    "assetbuild.trace.objects:ObjectStore.intact",
    "assetbuild.trace.objects:ObjectStore.clear_staging",
    "assetbuild.deliver.warehouse:refresh_warehouse",
    "assetbuild.trace.lock:BuildLock.acquire",
    "assetbuild.present.text:render_text",
    "assetbuild.cli.app:_emit_json",
    "assetbuild.run.plan:plan",
]
EXECUTOR_PHASES = [
    "assetbuild.executor.sql:SqlEngine.__init__",
    "assetbuild.executor.sql:SqlEngine.run",
    "assetbuild.executor.source:read_source",
    "assetbuild.executor.python:run_python",
    "assetbuild.executor.content:content_hash",
    "assetbuild.executor.content:write_parquet",
    "assetbuild.executor.content:schema_of",
]

totals: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
_lock = threading.Lock()


def wrap(label: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            dt = time.perf_counter() - t
            with _lock:
                totals[label] += dt
                calls[label] += 1

    timed.__wrapped_phase__ = fn  # type: ignore[attr-defined]
    return timed


def install(specs: list[str]) -> None:
    originals: dict[int, Any] = {}
    for spec in specs:
        mod_name, _, attr = spec.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        owner: Any = mod
        *path, last = attr.split(".")
        for p in path:
            owner = getattr(owner, p, None)
        fn = getattr(owner, last, None) if owner is not None else None
        if fn is None:
            continue
        w = wrap(attr, fn)
        setattr(owner, last, w)
        if not path:
            originals[id(fn)] = w
    # names imported elsewhere with `from x import f` point at the original: repoint them
    for name, mod in list(sys.modules.items()):
        if not name.startswith("assetbuild") or mod is None:
            continue
        for k, v in list(vars(mod).items()):
            if id(v) in originals and callable(v):
                setattr(mod, k, originals[id(v)])


def report(t_main: float) -> None:
    end = time.perf_counter()
    print(f"\n== phases (wall s; summed over calls and threads) total {end - T0:.3f}", file=sys.stderr)
    print(f"   {'imports before main':<44} {t_main - T0:8.3f}", file=sys.stderr)
    for label, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"   {label:<44} {t:8.3f}  x{calls[label]}", file=sys.stderr)


def main() -> None:
    argv = sys.argv[1:]
    executors = "--executors" in argv
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    argv = [a for a in argv if a != "--executors"]
    import assetbuild.cli.app as cli

    install(PHASES + (EXECUTOR_PHASES if executors else []))
    t_main = time.perf_counter()
    atexit.register(report, t_main)
    sys.argv = ["assetbuild", *argv]
    cli.main()


if __name__ == "__main__":
    main()
