"""Running SQL assets on DuckDB over the upstream Parquet objects, each visible under its asset name."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from assetbuild.errors import AssetFailure
from assetbuild.executor.protocol import Deadline
from assetbuild.model.assets import AssetDef

if TYPE_CHECKING:
    from polars.datatypes import DataTypeClass  # a schema's nested types may be classes (pl.Int64)


class SqlEngine:
    """One in-process DuckDB database reused by every SQL asset of a build (a cursor per run)."""

    def __init__(
        self,
        threads: int | None = None,
        readable: Sequence[Path] = (),
        memory_limit: int | None = None,
        spill_dir: Path | None = None,
    ) -> None:
        import duckdb

        self._duckdb = duckdb
        self._lock = threading.Lock()
        self._running: set[Any] = set()  # cursors running a query, for cancel()
        self._cancelled = False
        self.conn = duckdb.connect(":memory:")
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.conn.execute(f"SET memory_limit = '{int(memory_limit)}B'")
        if spill_dir is not None:
            self.conn.execute("SET temp_directory = '" + str(spill_dir).replace("'", "''") + "'")
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

    def run(self, asset: AssetDef, inputs: dict[str, Path], deadline: Deadline | None = None) -> pl.DataFrame:
        assert asset.sql is not None
        with self._lock:
            cur = self.conn.cursor()
            self._running.add(cur)
        timer = threading.Timer(max(0.0, deadline.left()), cur.interrupt) if deadline else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            try:
                for name, path in inputs.items():
                    # Temp views live in this cursor's connection only, so parallel runs never see
                    # each other's inputs.
                    cur.execute(
                        f"CREATE TEMP VIEW {_quote(name)} AS {input_view(name, path, str(asset.path))}"
                    )
                relation = cur.sql(asset.sql)
                if relation is None:
                    raise AssetFailure(f"{asset.path}: the query returned no table")
                return result_table(relation, str(asset.path))
            except self._duckdb.InterruptException:
                if self._cancelled:
                    raise AssetFailure(f"{asset.path}: stopped: the build was interrupted") from None
                why = deadline.why if deadline else "interrupted"
                raise AssetFailure(f"{asset.path}: {asset.name} timed out: {why}") from None
            except self._duckdb.Error as e:
                raise AssetFailure(f"{asset.path}: DuckDB error: {_first_lines(str(e))}") from None
            except AttributeError:
                # a statement that returns no relation (sqlglot already refused non-queries)
                raise AssetFailure(f"{asset.path}: the query returned no table") from None
        finally:
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._running.discard(cur)
            cur.close()

    def cancel(self) -> None:
        """Interrupt every running query (Ctrl-C); each run then fails as stopped."""
        self._cancelled = True
        with self._lock:
            running = list(self._running)
        for cur in running:
            cur.interrupt()

    def close(self) -> None:
        self.conn.close()


# -- an input as SQL sees it ----------------------------------------------------------------------
#
# DuckDB reads a Parquet file by its Parquet types, and Parquet has no Duration (stored as Int64),
# no fixed-size Array (a list), no Enum (a string), no 128-bit integer (polars writes 16 bytes);
# a millisecond Datetime it widens to microseconds. Read as they are, such inputs would reach SQL
# as numbers, lists, strings and blobs: `SELECT *` would store them changed, and `d > INTERVAL 1
# HOUR` or `min(enum)` would not mean what they say. So each input's view converts these columns,
# from the polars schema the object was written with, to the DuckDB type that holds exactly their
# values. Only the columns that need it are touched (`SELECT * REPLACE`): the rest stays DuckDB's
# own Parquet scan, with its projection and filter pushdown, read lazily, never loaded whole.
# A value no SQL type holds (a Duration finer than a microsecond) fails the asset naming the
# input and column, only when the query reads it.


def input_view(name: str, path: Path, where: str) -> str:
    """The SELECT that shows the object at `path` (input `name`) to SQL in faithful types;
    `where` (the asset's file, or `query`) starts the messages."""
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as e:  # not ours to read: DuckDB will say what is wrong with the file
        raise AssetFailure(
            f"{where}: cannot read the stored data of input '{name}': {_first_lines(str(e), 1)}"
        ) from None
    replaced = []
    for column, dtype in schema.items():
        try:
            expr = _faithful(_quote(column), dtype, f"column '{column}' of input '{name}'", 0)
        except AssetFailure as e:
            raise AssetFailure(f"{where}: column '{column}' of input '{name}': {e.message}") from None
        if expr is not None:
            replaced.append(f"{expr} AS {_quote(column)}")
    if not replaced:
        return f"SELECT * FROM read_parquet({literal})"
    return f"SELECT * REPLACE ({', '.join(replaced)}) FROM read_parquet({literal})"


def _faithful(expr: str, dtype: pl.DataType | DataTypeClass, where: str, depth: int) -> str | None:
    """An expression turning `expr`, as DuckDB reads a column of `dtype` from our Parquet, into
    the faithful DuckDB type; None when DuckDB reads it faithfully already."""
    if isinstance(dtype, pl.Duration):
        return _interval(expr, dtype.time_unit, where)
    if isinstance(dtype, pl.Datetime):
        # DuckDB widens a millisecond timestamp to microseconds; with a zone it has no other
        # resolution than microseconds (or nanoseconds) and holds the instant exactly
        return (
            f"CAST({expr} AS TIMESTAMP_MS)" if dtype.time_unit == "ms" and dtype.time_zone is None else None
        )
    if isinstance(dtype, pl.Enum):
        return f"CAST({expr} AS {_duck_type(dtype)})" if len(dtype.categories) else None
    if dtype == pl.Int128:
        return _int128_from_bytes(expr, signed=True)
    if dtype == pl.UInt128:
        return _int128_from_bytes(expr, signed=False)
    if isinstance(dtype, pl.List | pl.Array):
        inner = dtype.inner
        assert inner is not None
        var = f"x{depth}"
        each = _faithful(var, inner, where, depth + 1)
        if each is None and isinstance(dtype, pl.List):
            return None
        if each is not None:
            expr = f"list_transform({expr}, lambda {var}: {each})"
        return f"CAST({expr} AS {_duck_type(dtype)})" if isinstance(dtype, pl.Array) else expr
    if isinstance(dtype, pl.Struct):
        fields = [
            (f.name, _faithful(f"struct_extract({expr}, {_string(f.name)})", f.dtype, where, depth + 1))
            for f in dtype.fields
        ]
        if all(e is None for _, e in fields):
            return None
        parts = ", ".join(
            f"{_quote(n)} := {e if e is not None else f'struct_extract({expr}, {_string(n)})'}"
            for n, e in fields
        )
        # struct_pack of a NULL struct would be a struct of NULLs
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({parts}) END"
    if isinstance(dtype, pl.Map):
        var = f"e{depth}"
        key = _faithful(f"{var}.key", dtype.key, where, depth + 1)
        value = _faithful(f"{var}.value", dtype.value, where, depth + 1)
        if key is None and value is None:
            return None
        entry = f"struct_pack(key := {key or f'{var}.key'}, value := {value or f'{var}.value'})"
        return f"map_from_entries(list_transform(map_entries({expr}), lambda {var}: {entry}))"
    return None


def _interval(expr: str, unit: str, where: str) -> str:
    """A Duration (an Int64 count of `unit`s) as an INTERVAL, whose resolution is a microsecond
    and range that of an Int64 of microseconds: exact, or refused naming the column."""
    if unit == "us":
        return f"to_microseconds({expr})"
    # Each refusal message is built from the value, so that it cannot be folded into a constant
    # and raised for a query that never reads the column.
    if unit == "ms":
        limit = _INT64[1] // 1000
        refusal = _string(
            f"{_REFUSAL}{where} holds a Duration(ms) value longer than SQL's INTERVAL holds (about 292,000 "
            "years in microseconds); leave the column out of the query or convert it upstream: "
        )
        return (
            f"CASE WHEN {expr} NOT BETWEEN {-limit} AND {limit} "
            f"THEN error({refusal} || CAST({expr} AS VARCHAR) || ' ms') ELSE to_microseconds({expr} * 1000) END"
        )
    # nanoseconds: exact only when whole microseconds
    refusal = _string(
        f"{_REFUSAL}{where} holds a Duration(ns) value of a fraction of a microsecond, which SQL (DuckDB's "
        "INTERVAL) cannot hold; round it to microseconds upstream (e.g. .dt.truncate('1us') or "
        ".cast(pl.Duration('us'))) or leave the column out of the query: "
    )
    return (
        f"CASE WHEN {expr} % 1000 <> 0 THEN error({refusal} || CAST({expr} AS VARCHAR) || ' ns') "
        f"ELSE to_microseconds({expr} // 1000) END"
    )


def _int128_from_bytes(expr: str, signed: bool) -> str:
    """polars stores a 128-bit integer as 16 little-endian bytes (a Parquet fixed-length byte
    array without a logical type, a BLOB to DuckDB): its hex digits, byte by byte from the last,
    are the number in hex. A negative one (two's complement, top bit set) is -(~u) - 1, and ~u is
    the same hex with each digit complemented: each value is decoded once."""
    digits = " || ".join(f"substr(hex({expr}), {31 - 2 * i}, 2)" for i in range(16))
    if not signed:
        return f"CAST('0x' || {digits} AS UHUGEINT)"
    complement = f"translate({digits}, '0123456789ABCDEF', 'FEDCBA9876543210')"
    return (
        f"CASE WHEN substr(hex({expr}), 31, 1) >= '8' "
        f"THEN -CAST(CAST('0x' || {complement} AS UHUGEINT) AS HUGEINT) - 1 "
        f"ELSE CAST(CAST('0x' || {digits} AS UHUGEINT) AS HUGEINT) END"
    )


# the DuckDB name of each faithful type (for the casts above)
_DUCK_NAMES: dict[Any, str] = {
    pl.Boolean: "BOOLEAN",
    pl.Int8: "TINYINT",
    pl.Int16: "SMALLINT",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Int128: "HUGEINT",
    pl.UInt8: "UTINYINT",
    pl.UInt16: "USMALLINT",
    pl.UInt32: "UINTEGER",
    pl.UInt64: "UBIGINT",
    pl.UInt128: "UHUGEINT",
    pl.Float16: "FLOAT",
    pl.Float32: "FLOAT",
    pl.Float64: "DOUBLE",
    pl.String: "VARCHAR",
    pl.Categorical: "VARCHAR",
    pl.Binary: "BLOB",
    pl.Date: "DATE",
    pl.Time: "TIME_NS",
    pl.Null: '"NULL"',
}
_TIMESTAMPS = {
    ("ms", False): "TIMESTAMP_MS",
    ("us", False): "TIMESTAMP",
    ("ns", False): "TIMESTAMP_NS",
    ("ms", True): "TIMESTAMPTZ",
    ("us", True): "TIMESTAMPTZ",
    ("ns", True): "TIMESTAMPTZ_NS",
}


def _duck_type(dtype: pl.DataType | DataTypeClass) -> str:
    if isinstance(dtype, pl.Duration):
        return "INTERVAL"
    if isinstance(dtype, pl.Datetime):
        return _TIMESTAMPS[(dtype.time_unit, dtype.time_zone is not None)]
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Enum):
        return (
            "ENUM(" + ", ".join(_string(c) for c in dtype.categories) + ")"
            if len(dtype.categories)
            else "VARCHAR"
        )
    if isinstance(dtype, pl.Array):
        assert dtype.inner is not None
        return f"{_duck_type(dtype.inner)}[{dtype.size}]"
    if isinstance(dtype, pl.List):
        assert dtype.inner is not None
        return f"{_duck_type(dtype.inner)}[]"
    if isinstance(dtype, pl.Struct):
        return "STRUCT(" + ", ".join(f"{_quote(f.name)} {_duck_type(f.dtype)}" for f in dtype.fields) + ")"
    if isinstance(dtype, pl.Map):
        return f"MAP({_duck_type(dtype.key)}, {_duck_type(dtype.value)})"
    name = _DUCK_NAMES.get(dtype.base_type())
    if name is None:
        raise AssetFailure(f"the polars type {dtype} has no SQL type")
    return name


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
_REFUSAL = "assetbuild: "  # starts the messages of error() calls in the SQL we write
_DECIMAL38 = 10**38


def result_table(relation: Any, where: str) -> pl.DataFrame:
    """A DuckDB query's result as a polars table holding exactly its values, or AssetFailure
    naming the column and its type (`where`, the asset's file or `query`, starts the message)."""
    names, types = list(relation.columns), list(relation.types)
    for name, t in zip(names, types, strict=True):
        why = _refusal(t, top=True)
        if why:
            raise AssetFailure(f"{where}: column '{name}' has DuckDB type {t}: {why}")
    durations = [name for name, t in zip(names, types, strict=True) if t.id == "interval"]
    if durations:
        # An INTERVAL leaves DuckDB as Arrow's month-day-nanosecond, whose 64-bit nanoseconds
        # wrap past 292 years (DuckDB keeps microseconds): it leaves as its microseconds instead.
        relation = relation.project(
            ", ".join(
                _micros(name, t, where) if t.id == "interval" else _quote(name)
                for name, t in zip(names, types, strict=True)
            )
        )
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    try:
        table = fetch()
    except Exception as e:
        # a refusal of ours, raised by error() in the query (an input's view, `_micros`)
        text = str(e)
        if _REFUSAL not in text:
            raise
        raise AssetFailure(f"{where}: " + text.split(_REFUSAL, 1)[1].splitlines()[0]) from None
    converted: dict[int, pl.Series] = {}
    for i, (name, t) in enumerate(zip(names, types, strict=True)):
        if t.id in _CONVERTED and t.id != "interval":
            column = table.column(i)
            converted[i] = _convert(
                name, t, column.combine_chunks() if column.num_chunks != 1 else column.chunk(0), where
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
        return _finish(pl.DataFrame(columns), types, durations)
    try:
        out = pl.from_arrow(table)
    except Exception:
        for name, t, column in zip(names, types, table.columns, strict=True):
            try:
                pl.from_arrow(column)
            except Exception as e:
                raise AssetFailure(
                    f"{where}: column '{name}' has DuckDB type {t}, which assetbuild cannot store: "
                    f"{_first_lines(str(e), 1)}"
                ) from None
        raise
    assert isinstance(out, pl.DataFrame)
    return _finish(out, types, durations)


def _micros(name: str, t: Any, where: str) -> str:
    """An INTERVAL column as its exact count of microseconds (BIGINT), or a refusal naming it."""
    column = _quote(name)
    months = _string(
        f"{_REFUSAL}column '{name}' has DuckDB type {t} with months in it, which no fixed length of "
        "time holds; convert it (e.g. epoch(v) for seconds, or to_days/to_months parts): "
    )
    beyond = _string(
        f"{_REFUSAL}column '{name}' has DuckDB type {t} with a value beyond a duration's range "
        "(about 292,000 years): "
    )
    return (
        f"CASE WHEN datepart('year', {column}) * 12 + datepart('month', {column}) <> 0 "
        f"THEN error({months} || CAST({column} AS VARCHAR)) "
        f"ELSE coalesce(try(epoch_us({column})), "
        f"CASE WHEN {column} IS NULL THEN NULL ELSE error({beyond} || CAST({column} AS VARCHAR)) END) END "
        f"AS {column}"
    )


def _finish(df: pl.DataFrame, types: list[Any], durations: list[str]) -> pl.DataFrame:
    if durations:
        df = df.cast(dict.fromkeys(durations, pl.Duration("us")))  # type: ignore[arg-type]
    return _nested_enums(df, types)


def _nested_enums(df: pl.DataFrame, types: list[Any]) -> pl.DataFrame:
    """An ENUM inside a LIST, ARRAY, STRUCT or MAP arrives from Arrow as a Categorical, without
    its categories: cast back to the Enum DuckDB had (top-level ones are converted by `_convert`)."""
    casts = {}
    for series, t in zip(df.get_columns(), types, strict=True):
        if t.id in ("list", "array", "struct", "map"):
            want = _with_enums(series.dtype, t)
            if want != series.dtype:
                casts[series.name] = want
    return df.cast(casts) if casts else df  # type: ignore[arg-type]


def _with_enums(dtype: Any, t: Any) -> Any:
    """`dtype` (what Arrow gave) with an Enum of DuckDB's categories wherever `t` has an ENUM."""
    kind = t.id
    if kind == "enum":
        return pl.Enum([v for k, v in t.children if k == "values"][0])
    children = dict(t.children) if kind in ("list", "array", "map") else None
    if kind == "list" and isinstance(dtype, pl.List):
        return pl.List(_with_enums(dtype.inner, children["child"]))  # type: ignore[index]
    if kind == "array" and isinstance(dtype, pl.Array):
        return pl.Array(_with_enums(dtype.inner, children["child"]), dtype.size)  # type: ignore[index]
    if kind == "map" and isinstance(dtype, pl.Map):
        return pl.Map(_with_enums(dtype.key, children["key"]), _with_enums(dtype.value, children["value"]))  # type: ignore[index]
    if kind == "struct" and isinstance(dtype, pl.Struct):
        return pl.Struct(
            {f.name: _with_enums(f.dtype, ct) for f, (_, ct) in zip(dtype.fields, t.children, strict=True)}
        )
    return dtype


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


def _convert(name: str, t: Any, column: Any, where: str) -> pl.Series:
    """One top-level column whose Arrow form would change it, as the polars type that holds it."""
    if t.id in ("hugeint", "uhugeint"):
        return _narrow(_int128(column, unsigned=t.id == "uhugeint"))
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


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[:n])
