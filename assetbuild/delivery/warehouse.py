"""`.assetbuild/warehouse.duckdb`: one read-only view per asset over its current materialization.

The file is rebuilt aside and renamed into place, never edited: a reader (a notebook, a BI tool,
the duckdb CLI) holding the old file keeps a consistent snapshot, and never blocks a build, since
DuckDB would otherwise refuse a writer while any reader has the file open. A small key file
remembers which pointers the warehouse shows, so an unchanged build does not touch it (and does
not import duckdb).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..hashing import hash_json

WAREHOUSE = "warehouse.duckdb"
_KEY = "warehouse.key"


def warehouse_path(store_dir: Path) -> Path:
    return store_dir / WAREHOUSE


def refresh_warehouse(store_dir: Path, objects: Mapping[str, Path], schema: str = "main") -> bool:
    """Make the warehouse show exactly `objects` (asset -> Parquet path); True when rewritten."""
    views = {name: os.path.abspath(path) for name, path in sorted(objects.items())}
    key = hash_json({"views": views, "schema": schema, "version": 1})
    key_file = store_dir / _KEY
    target = warehouse_path(store_dir)
    if target.exists() and key_file.exists() and key_file.read_text() == key:
        return False
    import duckdb

    tmp = store_dir / f"{WAREHOUSE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    conn = duckdb.connect(str(tmp))
    try:
        if schema != "main":
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for name, path in views.items():
            literal = path.replace("'", "''")
            conn.execute(f'CREATE VIEW "{schema}"."{name}" AS SELECT * FROM read_parquet(\'{literal}\')')
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    os.replace(tmp, target)
    key_tmp = key_file.with_suffix(".tmp")
    key_tmp.write_text(key)
    os.replace(key_tmp, key_file)
    return True
