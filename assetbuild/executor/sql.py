"""Running SQL assets on DuckDB over the upstream Parquet objects, each visible under its asset name."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from assetbuild.errors import AssetFailure
from assetbuild.model.assets import AssetDef


class SqlEngine:
    """One in-process DuckDB database reused by every SQL asset of a build (a cursor per run)."""

    def __init__(self, threads: int | None = None, readable: Sequence[Path] = ()) -> None:
        import duckdb

        self._duckdb = duckdb
        self._lock = threading.Lock()
        self.conn = duckdb.connect(":memory:")
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")
        # Settings that change results are pinned, not taken from the machine: the session time
        # zone decides date_trunc('day', ts) and casts of timestamptz, so TZ=America/New_York
        # must not make a clean build differ from an incremental one.
        self.conn.execute("SET GLOBAL TimeZone = 'UTC'")  # GLOBAL: cursors are sessions of their own
        self.conn.execute("SET GLOBAL Calendar = 'gregorian'")
        # An asset reads its upstream objects and nothing else (no files, URLs or extensions):
        # what it could read by itself would not be in its build key.
        dirs = ", ".join("'" + str(d).rstrip("/").replace("'", "''") + "/'" for d in readable)
        self.conn.execute(f"SET allowed_directories = [{dirs}]")
        self.conn.execute("SET enable_external_access = false")
        self.conn.execute("SET autoinstall_known_extensions = false")
        self.conn.execute("SET autoload_known_extensions = false")
        self.conn.execute("SET lock_configuration = true")

    def run(self, asset: AssetDef, inputs: dict[str, Path]) -> pl.DataFrame:
        assert asset.sql is not None
        with self._lock:
            cur = self.conn.cursor()
        try:
            try:
                for name, path in inputs.items():
                    # Temp views live in this cursor's connection only, so parallel runs never see
                    # each other's inputs.
                    literal = str(path).replace("'", "''")
                    cur.execute(f"CREATE TEMP VIEW \"{name}\" AS SELECT * FROM read_parquet('{literal}')")
                relation = cur.sql(asset.sql)
                huge = [
                    n for n, t in zip(relation.columns, relation.types, strict=True) if str(t) == "HUGEINT"
                ]
                return _narrow_hugeint(relation.pl(), huge)
            except self._duckdb.Error as e:
                raise AssetFailure(f"{asset.path}: DuckDB error: {_first_lines(str(e))}") from None
            except AttributeError:
                # a statement that returns no relation (sqlglot already refused non-queries)
                raise AssetFailure(f"{asset.path}: the query returned no table") from None
        finally:
            cur.close()

    def close(self) -> None:
        self.conn.close()


def _narrow_hugeint(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """DuckDB sums integers as HUGEINT (128-bit), which reaches polars and Parquet as DECIMAL(38,0);
    narrow such columns to Int64 when every value fits, so `sum(int)` stays an integer."""
    casts = []
    for name in columns:
        # a value beyond 64 bits fails the strict cast: keep the exact decimal then
        with contextlib.suppress(Exception):
            casts.append(df.get_column(name).cast(pl.Int64, strict=True))
    return df.with_columns(casts) if casts else df


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[:n])
