"""Running SQL assets on DuckDB over the upstream Parquet objects, each visible under its asset name."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl

from ..definitions.model import AssetDef
from ..errors import AssetFailure


class SqlEngine:
    """One in-process DuckDB database reused by every SQL asset of a build (a cursor per run)."""

    def __init__(self, threads: int | None = None) -> None:
        import duckdb

        self._duckdb = duckdb
        self._lock = threading.Lock()
        self.conn = duckdb.connect(":memory:")
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")

    def run(self, asset: AssetDef, inputs: dict[str, Path]) -> pl.DataFrame:
        assert asset.sql is not None
        with self._lock:
            cur = self.conn.cursor()
        try:
            for name, path in inputs.items():
                # Temp views live in this cursor's connection only, so parallel runs never see
                # each other's inputs.
                literal = str(path).replace("'", "''")
                cur.execute(f"CREATE TEMP VIEW \"{name}\" AS SELECT * FROM read_parquet('{literal}')")
            try:
                return cur.sql(asset.sql).pl()
            except self._duckdb.Error as e:
                raise AssetFailure(f"{asset.path}: DuckDB error: {_first_lines(str(e))}") from None
            except AttributeError:
                # a statement that returns no relation (sqlglot already refused non-queries)
                raise AssetFailure(f"{asset.path}: the query returned no table") from None
        finally:
            cur.close()

    def close(self) -> None:
        self.conn.close()


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[:n])
