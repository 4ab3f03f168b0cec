"""Reading current data: `assetbuild.read(...)` for notebooks and tests, and `assetbuild query`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetbuild.definitions.loader import load_project
from assetbuild.errors import AssetFailure, ProjectError, did_you_mean
from assetbuild.trace.objects import ObjectStore
from assetbuild.trace.state import State

if TYPE_CHECKING:
    import polars as pl


def current_objects(
    project_dir: str | Path, environment: str | None = None, verify: frozenset[str] = frozenset()
) -> dict[str, Path]:
    """Asset name -> Parquet file of its current materialization; the objects of the assets in
    `verify` are checked (size and byte hash) first, so damaged data is reported, never read."""
    project = load_project(project_dir, environment)
    state = State.open(project.store_dir, readonly=True)
    if state is None:
        return {}
    try:
        objects = ObjectStore(project.store_dir)
        current = {n: c for n, c in state.current(project.environment).items() if n in project.assets}
        for name in sorted(verify & current.keys()):
            m = current[name].mat
            if not objects.intact(m.object, m.object_size, m.file_hash):
                raise AssetFailure(
                    f"the stored data of '{name}' is missing or damaged ({m.object}); "
                    f"`assetbuild build {name}` rebuilds it"
                )
        return {n: objects.path(c.mat.object) for n, c in current.items()}
    finally:
        state.close()


def read(asset: str, project: str | Path = ".", lazy: bool = False, environment: str | None = None) -> Any:
    """The current data of `asset` as a polars DataFrame (a LazyFrame with `lazy=True`)."""
    import polars as pl

    loaded = load_project(project, environment)
    if asset not in loaded.assets:
        raise ProjectError(f"no asset named '{asset}'", hint=did_you_mean(asset, loaded.assets))
    state = State.open(loaded.store_dir, readonly=True)
    cur = state.current_of(loaded.environment, asset) if state else None
    if state:
        state.close()
    if cur is None:
        raise AssetFailure(f"'{asset}' has not been built yet; run `assetbuild build +{asset}`")
    path = ObjectStore(loaded.store_dir).path(cur.mat.object)
    if not ObjectStore(loaded.store_dir).intact(cur.mat.object, cur.mat.object_size, None):
        raise AssetFailure(
            f"the stored data of '{asset}' is missing or damaged; run `assetbuild build` again"
        )
    return pl.scan_parquet(path) if lazy else pl.read_parquet(path)


def query(project_dir: str | Path, sql: str) -> pl.DataFrame:
    """Run one read-only SQL query (DuckDB) with every current asset visible under its name."""
    import tempfile

    import duckdb
    import sqlglot
    from sqlglot import exp

    from assetbuild.executor.sql import input_view, result_table

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as e:
        raise ProjectError(f"cannot parse the query: {str(e).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ProjectError(
            "`assetbuild query` runs one read-only SELECT query",
            hint="assets are changed by editing their definitions and running `assetbuild build`",
        )
    # A query too big for memory spills to disk: to a private temporary folder, not to DuckDB's
    # default `.tmp/` in the current folder, which may be a read-only checkout (or the user's).
    with tempfile.TemporaryDirectory(prefix="assetbuild-query-", ignore_cleanup_errors=True) as spill:
        # no extension is fetched or loaded on the query's behalf
        conn = duckdb.connect(
            ":memory:",
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "temp_directory": spill,
            },
        )
        try:
            # a long query would draw a progress bar on stdout, inside the JSON or CSV it prints
            conn.execute("SET enable_progress_bar = false")
            read = frozenset(".".join(p.name for p in t.parts) for t in statements[0].find_all(exp.Table))
            objects = current_objects(project_dir, verify=read)
            for name, path in objects.items():
                # the assets as SQL assets see them: each column in the type that holds its values
                try:
                    view = input_view(name, path, "query")
                except AssetFailure:
                    # unreadable, and not read by this query (what it reads was verified above):
                    # it must not fail a query about other assets
                    continue
                conn.execute(f'CREATE VIEW "{name}" AS {view}')
            # Nothing may be read or written from here on but the assets' own files.
            allowed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in objects.values())
            conn.execute(f"SET allowed_paths = [{allowed}]")
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
            try:
                # converted as a SQL asset's result is: an INTERVAL, a HUGEINT or an ENUM arrives
                # as the polars type that holds it, or the query fails naming the column
                return displayable(result_table(conn.sql(sql), "query"))
            except duckdb.Error as e:
                missing = re.search(r"Table with name (\S+) does not exist", str(e))
                hint = _unknown_table_hint(project_dir, missing.group(1), objects) if missing else None
                raise ProjectError(f"query failed: {str(e).strip().splitlines()[0]}", hint=hint) from None
            except AssetFailure as e:
                raise ProjectError(e.message) from None
        finally:
            conn.close()


def _unknown_table_hint(project_dir: str | Path, table: str, objects: dict[str, Path]) -> str:
    """What to say when the query names a table that is not a current asset."""
    if table in load_project(project_dir).assets:
        return f"'{table}' has not been built yet; run `assetbuild build +{table}`"
    return did_you_mean(table, objects) or (
        f"the tables are the current assets: {', '.join(sorted(objects)[:20]) or '(none built yet)'}"
    )


# -- values as a person or a JSON reader gets them ---------------------------------------------
#
# A stored value may be one that Python's datetime cannot hold (DuckDB's 'infinity', a year past
# 9999) or one JSON has no number for (NaN, Infinity). Printing such a value must neither fail
# nor emit invalid JSON.

_INFINITE = {"Date": 2**31 - 1, "Datetime": 2**63 - 1}  # DuckDB's ±infinity: ±(max of the type)
_PY_RANGE = {
    "Date": (-719162, 2932896),  # 0001-01-01 .. 9999-12-31, days since 1970
    "Datetime": (-62135596800, 253402300799),  # the same, in seconds
}
_PER_SECOND = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}


def displayable(df: pl.DataFrame) -> pl.DataFrame:
    """`df` with each date or timestamp column that holds a value Python cannot (±infinity, a year
    outside 1..9999) as text: 'infinity', '-infinity' or the ISO form. Other columns unchanged."""
    import polars as pl

    columns = []
    for series in df.get_columns():
        dtype = series.dtype
        kind = "Date" if dtype == pl.Date else "Datetime" if isinstance(dtype, pl.Datetime) else None
        if kind is None or series.null_count() == series.len():
            columns.append(series)
            continue
        phys = series.to_physical()
        scale = 1 if kind == "Date" else _PER_SECOND[dtype.time_unit]  # type: ignore[attr-defined]
        low, high = (bound * scale for bound in _PY_RANGE[kind])
        if low <= phys.min() and phys.max() <= high + scale - 1:  # type: ignore[operator]
            columns.append(series)
            continue
        columns.append(_as_text(series, phys, kind, (low, high + scale - 1)))
    return pl.DataFrame(columns) if columns else df


def _as_text(series: pl.Series, phys: pl.Series, kind: str, bounds: tuple[int, int]) -> pl.Series:
    import polars as pl

    infinite = _INFINITE[kind]
    inside = phys.is_between(*bounds)
    fmt = "%Y-%m-%d" if kind == "Date" else "%Y-%m-%d %H:%M:%S%.f"
    # the ISO text only where polars can format the value; elsewhere the number, with its unit
    safe = series.zip_with(inside.fill_null(True), pl.Series([None] * series.len(), dtype=series.dtype))
    text = safe.dt.to_string(fmt)
    if kind != "Date":
        text = text.str.replace(r"(\.\d*?)0+$", "$1").str.replace(r"\.$", "")
    unit = "days" if kind == "Date" else series.dtype.time_unit  # type: ignore[attr-defined]
    raw = phys.cast(pl.String) + f" {unit} since 1970-01-01"
    out = (
        pl.select(
            pl.when(phys == infinite)
            .then(pl.lit("infinity"))
            .when(phys == -infinite)
            .then(pl.lit("-infinity"))
            .when(inside)
            .then(text)
            .otherwise(raw)
        )
        .to_series()
        .alias(series.name)
    )
    return out


def json_rows(df: pl.DataFrame) -> list[list[Any]]:
    """The rows of `df` as JSON-able lists: NaN and infinities as the strings "NaN", "Infinity"
    and "-Infinity", dates and times Python cannot hold as text (see `displayable`)."""
    return [[_jsonable(v) for v in row] for row in displayable(df).rows()]


def json_records(df: pl.DataFrame) -> list[dict[str, Any]]:
    """As `json_rows`, one dict per row."""
    return [{k: _jsonable(v) for k, v in row.items()} for row in displayable(df).to_dicts()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    # decimals (exact: as text, never a float), dates, times, durations, bytes
    return value.hex() if isinstance(value, bytes) else str(value)
