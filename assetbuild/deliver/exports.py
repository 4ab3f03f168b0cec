"""Exports: deliver a published asset to a path others read (Parquet, CSV, a DuckDB table).

Targets, from `[exports]` or `@asset(export=...)`:
  "out/x.parquet"            the Parquet file (copied from the store)
  "out/x.csv"                CSV
  "out/x/" or {path = "out/x", partition_by = "day"}   a folder of Parquet files, hive-partitioned
  "out/db.duckdb#table"      a table in a DuckDB file
Every write goes aside first and is renamed into place, so a reader sees the old export or the
new one, never half of one. An export is rewritten only when the asset's content hash changed
(remembered in `.assetbuild/exports.json`), and only ever from published data.

Environments: the default environment's exports land at their declared paths; another
environment's land in a folder named after it beside them (`out/x.parquet` -> `out/dev/x.parquet`),
or wherever a `{environment}` placeholder in the path puts them, so that a dev build never
overwrites what others read as the default environment's (`environment_path`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from assetbuild.definitions.exports import ExportTarget

DEFAULT_ENVIRONMENT = "default"
ENVIRONMENT_PLACEHOLDER = "{environment}"


def environment_path(path: str, environment: str) -> str:
    """Where an export declared at `path` (project-relative) lands for `environment`.

    lineage/naming.py names the same path (a sibling layer: neither imports the other), and
    tests/lineage keeps the two equal."""
    if ENVIRONMENT_PLACEHOLDER in path:
        return path.replace(ENVIRONMENT_PLACEHOLDER, environment)
    if environment == DEFAULT_ENVIRONMENT:
        return path
    parent, _, name = path.rstrip("/").rpartition("/")
    return f"{parent}/{environment}/{name}" if parent else f"{environment}/{name}"


class Exporter:
    def __init__(self, root: Path, store_dir: Path, environment: str = DEFAULT_ENVIRONMENT) -> None:
        self.root = root
        self.store_dir = store_dir
        self.environment = environment
        # each environment remembers its own exports (the default one in the file it always
        # had), so that builds of two environments never rewrite each other's record, nor
        # mistake each other's exports for ones left behind
        name = "exports.json" if environment == DEFAULT_ENVIRONMENT else f"exports.{environment}.json"
        self.record_path = store_dir / name
        try:
            self.record: dict[str, dict[str, Any]] = json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            self.record = {}

    def target_of(self, target: ExportTarget) -> ExportTarget:
        """The declared target as this environment writes it."""
        path = environment_path(target.path, self.environment)
        return target if path == target.path else dataclasses.replace(target, path=path)

    def describe(self, target: ExportTarget) -> str:
        """Where this environment's export lands, as a build reports it (`out/dev/x.parquet`)."""
        return self.target_of(target).describe()

    def needed(self, asset: str, target: ExportTarget, content_hash: str) -> bool:
        target = self.target_of(target)
        if self.record.get(asset) != target.record_entry(content_hash):
            return True
        return not (self.root / target.path).exists()

    def export(self, asset: str, target: ExportTarget, object_path: Path, content_hash: str) -> None:
        """Write the export (raises OSError on failure, leaving the previous export in place)."""
        target = self.target_of(target)
        dest = self._inside(target.path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.assetbuild-tmp")
        _remove(tmp)
        try:
            if target.kind == "parquet":
                shutil.copyfile(object_path, tmp)
                _fsync(tmp)
                os.replace(tmp, dest)
            elif target.kind == "csv":
                import polars as pl

                pl.read_parquet(object_path).write_csv(tmp)
                _fsync(tmp)
                os.replace(tmp, dest)
            elif target.kind == "folder":
                import polars as pl

                _check_replaceable(dest, target.path)

                df = pl.read_parquet(object_path)
                if target.partition_by:
                    df.write_parquet(tmp, partition_by=list(target.partition_by))
                else:
                    tmp.mkdir()
                    df.write_parquet(tmp / "part-0.parquet")
                _swap_folder(tmp, dest)
            elif target.kind == "duckdb":
                self._duckdb_table(dest, target.table or asset, object_path)
        finally:
            _remove(tmp)
        self.record[asset] = target.record_entry(content_hash)

    def _duckdb_table(self, db: Path, table: str, object_path: Path) -> None:
        import duckdb

        # No extension is fetched or loaded behind the user's back (a SQLite file at the path would
        # otherwise make DuckDB download sqlite_scanner and write into it).
        conn = duckdb.connect(
            str(db), config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            from assetbuild.executor.sql import input_view

            select = input_view(table, object_path, "export")  # faithful types, as SQL assets see them
            # one transaction: readers see the old table or the new one
            conn.execute("BEGIN")
            conn.execute(f'CREATE OR REPLACE TABLE "{table}" AS {select}')
            conn.execute("COMMIT")
        finally:
            conn.close()

    def save(self) -> None:
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.record, indent=1, sort_keys=True))
        os.replace(tmp, self.record_path)

    def _inside(self, rel: str) -> Path:
        dest = (self.root / rel).resolve()
        root = self.root.resolve()
        if dest == root:
            raise OSError(f"export path {rel} is the project folder itself")
        if root not in dest.parents:
            raise OSError(f"export path {rel} resolves outside the project ({dest})")
        store = self.store_dir.resolve()
        if dest == store or store in dest.parents:
            raise OSError(f"export path {rel} is inside assetbuild's own store ({store})")
        return dest


def _check_replaceable(dest: Path, rel: str) -> None:
    """A folder export owns its folder and replaces it whole: refuse a folder that holds anything
    but Parquet files (the project itself, its assets, its source data, someone's documents)."""
    if not dest.exists() and not dest.is_symlink():
        return
    if dest.is_symlink() or not dest.is_dir():
        raise OSError(f"{rel} exists and is not a folder of Parquet files; move it away to export there")
    for path in dest.rglob("*"):
        if not path.is_dir() and path.suffix.lower() not in (".parquet", ".pq"):
            raise OSError(
                f"{rel} holds {path.relative_to(dest).as_posix()}, which no export wrote; "
                "a folder export replaces its whole folder, so choose an empty or new folder"
            )


def _swap_folder(new: Path, dest: Path) -> None:
    """Put the folder `new` at `dest`. Where the OS can (Linux renameat2), the old and the new
    folder trade places in one step, so a reader never finds `dest` missing; elsewhere the old
    folder moves aside first, and comes back if the new one cannot be put in its place."""
    if dest.is_dir() and not dest.is_symlink() and _exchange(new, dest):
        _remove(new)  # now the old folder
        return
    old = dest.with_name(f".{dest.name}.assetbuild-old")
    _remove(old)
    moved = False
    if dest.exists() or dest.is_symlink():
        os.replace(dest, old)
        moved = True
    try:
        os.replace(new, dest)
    except BaseException:
        if moved:
            os.replace(old, dest)
        raise
    _remove(old)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _fsync(p: Path) -> None:
    with open(p, "rb") as f:
        os.fsync(f.fileno())
