"""`.assetbuild/warehouse.duckdb`: one read-only view per asset over its current materialization.

The file is never edited in place: a new version is written aside and renamed over the old one,
so a reader (a notebook, a BI tool, the duckdb CLI) holding the old file keeps a consistent
snapshot, and never blocks a build (DuckDB would refuse a writer while any reader holds the
file). Creating a view costs DuckDB a read of the Parquet footer, so a refresh starts from a copy
of the previous file and replaces only the views whose object changed, in one transaction. A
small JSON file remembers which object each view shows, so an unchanged build neither touches
the warehouse nor imports duckdb.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

WAREHOUSE = "warehouse.duckdb"
_STATE = "warehouse.json"
_VERSION = 4  # 4: views show the faithful types (executor.sql.input_view)


def warehouse_path(store_dir: Path) -> Path:
    return store_dir / WAREHOUSE


def refresh_warehouse(store_dir: Path, schemas: Mapping[str, Mapping[str, str | Path]]) -> bool:
    """Make the warehouse show exactly `schemas` ({schema: {asset: Parquet path}}, one schema per
    environment, `main` for the default one); True when the file was rewritten."""
    views = {
        f"{schema}\x00{name}": os.path.abspath(path)
        for schema, objects in schemas.items()
        for name, path in objects.items()
    }
    views = dict(sorted(views.items()))
    target = warehouse_path(store_dir)
    state_file = store_dir / _STATE
    shown = _shown(state_file) if target.exists() else None
    _remove_left_behind(store_dir)
    if shown == views:
        return False
    import duckdb

    from assetbuild.executor.sql import input_view

    tmp = store_dir / f"{WAREHOUSE}.{os.getpid()}.tmp"
    _remove(tmp)
    # DuckDB reads '?' in a database path as the start of options: under a folder named so, the
    # file is written in a plain temporary folder and copied in before the rename
    aside = None
    if "?" in str(store_dir):
        import tempfile

        aside = Path(tempfile.mkdtemp(prefix="assetbuild-wh-"))
    work = aside / WAREHOUSE if aside is not None else tmp
    try:
        if shown is not None:
            shutil.copyfile(target, work)
        else:
            shown = {}
        conn = duckdb.connect(str(work))
        try:
            conn.execute("BEGIN")
            for schema in sorted(schemas.keys() - {"main"}):
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            for key in shown.keys() - views.keys():
                schema, name = key.split("\x00")
                conn.execute(f'DROP VIEW IF EXISTS "{schema}"."{name}"')
            for key, path in views.items():
                schema, name = key.split("\x00")
                if shown.get(key) != path:
                    # the types SQL assets see (a Duration as INTERVAL, an Enum as ENUM), not
                    # the Parquet file's physical ones
                    select = input_view(name, Path(path), "warehouse")
                    conn.execute(f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS {select}')
            conn.execute("COMMIT")
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        if aside is not None:
            shutil.copyfile(work, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        # forget what the old file showed before replacing it: a build killed between the two
        # renames then rebuilds every view next time instead of trusting a stale record
        state_file.unlink(missing_ok=True)
        os.replace(tmp, target)
    finally:  # on failure nothing is left behind, and the previous warehouse stays
        _remove(tmp)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    state_tmp = state_file.with_suffix(".tmp")
    state_tmp.write_text(json.dumps({"version": _VERSION, "views": views}))
    os.replace(state_tmp, state_file)
    return True


def _shown(state_file: Path) -> dict[str, str] | None:
    """The views the current warehouse file holds, or None when that is not known for sure."""
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != _VERSION:
        return None
    views = data.get("views")
    return dict(views) if isinstance(views, dict) else None


def _remove_left_behind(store_dir: Path) -> None:
    """Drop the half-written warehouses of builds killed mid-refresh (their pid is gone). Only the
    build holding the lock refreshes, so no living writer owns another pid's file."""
    for old in store_dir.glob(f"{WAREHOUSE}.*.tmp"):
        pid = old.name[len(WAREHOUSE) + 1 : -len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _remove(old)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    Path(f"{tmp}.wal").unlink(missing_ok=True)
