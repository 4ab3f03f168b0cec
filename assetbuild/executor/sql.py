"""Running SQL assets on DuckDB over the upstream Parquet objects, each visible under its asset name."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
                if relation is None:
                    raise AssetFailure(f"{asset.path}: the query returned no table")
                return _to_table(relation, asset)
            except self._duckdb.Error as e:
                raise AssetFailure(f"{asset.path}: DuckDB error: {_first_lines(str(e))}") from None
            except AttributeError:
                # a statement that returns no relation (sqlglot already refused non-queries)
                raise AssetFailure(f"{asset.path}: the query returned no table") from None
        finally:
            cur.close()

    def close(self) -> None:
        self.conn.close()


# -- the query's result as a table ----------------------------------------------------------------
#
# Every DuckDB type either arrives as a polars type holding exactly its values, or the asset fails
# naming the column and the type. DuckDB hands its result over as Arrow; what Arrow or polars
# would change on the way (a 128-bit integer squeezed into DECIMAL(38,0), an INTERVAL polars
# cannot import, an ENUM losing its categories) is converted here, from the DuckDB type.

# DuckDB type ids that arrive faithfully as they are
_AS_IS = frozenset(
    (
        "boolean",
        "tinyint",
        "smallint",
        "integer",
        "bigint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "float",
        "double",
        "decimal",
        "varchar",
        "blob",
        "uuid",
        "null",
        "list",
        "array",
        "struct",
        "map",
        "date",
        "time",
        "time_ns",
        "timestamp",
        "timestamp_s",
        "timestamp_ms",
        "timestamp_ns",
        "timestamptz_ns",
        "timestamp with time zone",
    )
)
_REFUSED = {
    "union": "cast it to one of its member types or to VARCHAR (e.g. union_extract(v, 'tag'))",
    "bignum": "cast it to HUGEINT, DECIMAL(38,0) or VARCHAR",
    "varint": "cast it to HUGEINT, DECIMAL(38,0) or VARCHAR",
    "bit": "cast it to VARCHAR",
    "time with time zone": "its UTC offset cannot be stored: convert it to TIME or VARCHAR",
    "variant": "cast it to JSON or VARCHAR",
    "geometry": "convert it to BLOB (WKB) or VARCHAR (WKT)",
}
# converted at the top level only
_CONVERTED = frozenset(("hugeint", "uhugeint", "interval", "enum"))
_INT64 = (-(2**63), 2**63 - 1)
_DECIMAL38 = 10**38


def _to_table(relation: Any, asset: AssetDef) -> pl.DataFrame:
    names, types = list(relation.columns), list(relation.types)
    for name, t in zip(names, types, strict=True):
        why = _refusal(t, top=True)
        if why:
            raise AssetFailure(f"{asset.path}: column '{name}' has DuckDB type {t}: {why}")
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    table = fetch()
    converted: dict[int, pl.Series] = {}
    for i, (name, t) in enumerate(zip(names, types, strict=True)):
        if t.id in _CONVERTED:
            column = table.column(i)
            converted[i] = _convert(
                name, t, column.combine_chunks() if column.num_chunks != 1 else column.chunk(0), asset
            )
    if converted:
        import pyarrow as pa

        kept = [c for i, c in enumerate(table.columns) if i not in converted]
        placeholder = pa.table({f"_{i}": c for i, c in enumerate(kept)}) if kept else None
        rest = pl.from_arrow(placeholder) if placeholder is not None else pl.DataFrame()
        assert isinstance(rest, pl.DataFrame)
        columns, k = [], 0
        for i, name in enumerate(names):
            if i in converted:
                columns.append(converted[i].alias(name))
            else:
                columns.append(rest.to_series(k).alias(name))
                k += 1
        return pl.DataFrame(columns)
    try:
        out = pl.from_arrow(table)
    except Exception:
        for name, t, column in zip(names, types, table.columns, strict=True):
            try:
                pl.from_arrow(column)
            except Exception as e:
                raise AssetFailure(
                    f"{asset.path}: column '{name}' has DuckDB type {t}, which assetbuild cannot store: "
                    f"{_first_lines(str(e), 1)}"
                ) from None
        raise
    assert isinstance(out, pl.DataFrame)
    return out


def _refusal(t: Any, top: bool) -> str | None:
    """Why a value of DuckDB type `t` cannot be stored faithfully, or None."""
    kind = t.id
    if kind in _REFUSED:
        return _REFUSED[kind]
    if kind in _CONVERTED:
        if top or kind == "enum":
            return None
        return (
            "a HUGEINT, UHUGEINT or INTERVAL cannot be stored inside a LIST, ARRAY, STRUCT or MAP; "
            "cast the inner values (to BIGINT or DECIMAL(38,0), or an interval to a number, e.g. epoch(v))"
        )
    if kind not in _AS_IS:
        return "assetbuild cannot store this type faithfully; cast it to a supported type"
    if kind in ("list", "array", "struct", "map"):
        for _, child in t.children:
            if hasattr(child, "id"):
                why = _refusal(child, top=False)
                if why:
                    return why
    return None


def _convert(name: str, t: Any, column: Any, asset: AssetDef) -> pl.Series:
    """One top-level column whose Arrow form would change it, as the polars type that holds it."""
    if t.id in ("hugeint", "uhugeint"):
        return _narrow(_int128(column, unsigned=t.id == "uhugeint"))
    if t.id == "interval":
        return _duration(name, t, column, asset)
    values = [v for k, v in t.children if k == "values"][0]
    return pl.Series(column).cast(pl.Enum(list(values)))


def _int128(column: Any, unsigned: bool) -> pl.Series:
    """DuckDB exports (U)HUGEINT as DECIMAL(38,0) holding the value's 128 bits: take the bits."""
    bits = pl.Series(column).to_physical()  # Int128
    return bits.cast(pl.UInt128, wrap_numerical=True) if unsigned else bits


def _narrow(values: pl.Series) -> pl.Series:
    """Int64 when every value fits (so `sum(int)` stays an integer), else DECIMAL(38,0) while the
    values have at most 38 digits (what SQL assets downstream read back), else the exact 128-bit
    integer type."""
    low, high = values.min(), values.max()
    if low is None or (_INT64[0] <= low and high <= _INT64[1]):  # type: ignore[operator]
        return values.cast(pl.Int64)
    if low > -_DECIMAL38 and high < _DECIMAL38:  # type: ignore[operator]
        return values.cast(pl.Decimal(38, 0))
    return values


def _duration(name: str, t: Any, column: Any, asset: AssetDef) -> pl.Series:
    """An INTERVAL without months as a Duration in microseconds (DuckDB's resolution); an
    interval with months is no fixed length of time."""
    import pyarrow as pa

    n = len(column)
    validity, data = column.buffers()[0], column.buffers()[1]
    # month_day_nano: int32 months, int32 days, int64 nanoseconds per value
    ints = pl.Series(pa.Array.from_buffers(pa.int32(), 4 * (column.offset + n), [None, data]))
    longs = pl.Series(pa.Array.from_buffers(pa.int64(), 2 * (column.offset + n), [None, data]))
    start = column.offset
    months = ints.gather_every(4, 0).slice(start, n)
    days = ints.gather_every(4, 1).slice(start, n).cast(pl.Int128)
    nanos = longs.gather_every(2, 1).slice(start, n).cast(pl.Int128)
    valid = (
        pl.Series(pa.Array.from_buffers(pa.bool_(), n, [None, validity], offset=column.offset))
        if validity
        else None
    )
    micros = days * pl.Series([86_400_000_000], dtype=pl.Int128) + nanos // pl.Series([1000], dtype=pl.Int128)
    if valid is not None:
        months = months.zip_with(valid, pl.Series([0] * n, dtype=pl.Int32))
        micros = micros.zip_with(valid, pl.Series([None] * n, dtype=pl.Int128))
    if (months != 0).any():
        raise AssetFailure(
            f"{asset.path}: column '{name}' has DuckDB type {t} with months in it, which no fixed "
            "length of time holds; convert it (e.g. epoch(v) for seconds, or to_days/to_months parts)"
        )
    low, high = micros.min(), micros.max()
    if low is not None and not (_INT64[0] <= low and high <= _INT64[1]):  # type: ignore[operator]
        raise AssetFailure(
            f"{asset.path}: column '{name}' has DuckDB type {t} with values beyond a duration's range"
        )
    return micros.cast(pl.Int64).cast(pl.Duration("us"))


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[:n])
