"""Content hashes of tables and writing them as Parquet.

The content hash is assetbuild's own definition, independent of any library's version: two
tables hash equal exactly when a downstream computation cannot tell them apart (same column
names and types, same values bit for bit: 0.0 is not -0.0, NaN payloads count), and, unless
the table is *ordered*, in whatever row order and chunking they come.

Definition (version 1). Integers are little-endian; `u64(n)` is n as 8 bytes.

    hash   = xxh3_128 hex of  "assetbuild content 1\n"  ("ordered\n" | "multiset\n")
             u64(rows) u64(columns)  [u64(len) name-utf8 u64(len) type-text]*  body
    body   = ordered:  enc(row 1) enc(row 2) ...              (rows in their order)
             multiset: the sum mod 2^128 of int_be(xxh3_128(enc(row))) over the rows,
                       as 16 bytes big-endian (duplicates count, order does not)
    enc    = validity words, then each column's field, in column order: ceil(columns / 64)
             u64 words, bit (i % 64) of word (i // 64) set when column i is not null.
    field  = a valid value: val(v); a null: w zero bytes for a fixed-width type of width w,
             u64(0) for str/bin/cat/enum, nothing for list/array/map/struct/null
    val    = bool: 1 byte 0/1; ints: their width, two's complement; floats: IEEE bits;
             date: i32 days; datetime/duration/time: i64 in the type's unit; decimal: i128 of
             the unscaled value; str/cat/enum: u64(len) UTF-8; bin: u64(len) bytes;
             list/array: u64(count) elem*; map: as a list of struct{key, value};
             struct: elem per field
    elem   = 0x00 for a null, else 0x01 val(v)

Type texts: bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f16 f32 f64 str bin cat date time null
`datetime[us]` `datetime[us, Europe/Berlin]` `duration[ns]` `decimal[38, 2]` `enum["a", "b"]`
`list[T]` `array[T; 3]` `map[K, V]` `struct{"a": T, "b": U}`.

Rows are encoded in batches with pyarrow (vectorised); each row of a multiset is then hashed
with xxh3-128 (one call per row, the part that costs).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import xxhash

from assetbuild.errors import AssetFailure

FORMAT = b"assetbuild content 1\n"
_BATCH = 1 << 16  # rows encoded at once: big enough for vectorising, small enough for the caches
_MASK128 = (1 << 128) - 1


def content_hash(df: pl.DataFrame, ordered: bool = False) -> str:
    """The content hash of `df`: of its row sequence when `ordered`, else of its rows as a multiset."""
    return _digests(df, (ordered,))[0]


def _digests(df: pl.DataFrame, orders: tuple[bool, ...]) -> list[str]:
    """The content hash of `df` for each of `orders` (True: ordered), encoding the rows once."""
    plan = _plan(df)
    shape = _shape(df, plan)
    ordered = xxhash.xxh3_128(FORMAT + b"ordered\n" + shape) if True in orders else None
    total = 0
    row_hash = xxhash.xxh3_128_intdigest
    for rows in _encoded_batches(df, plan):
        if ordered is not None:
            ordered.update(_data_of(rows))
        if False in orders:
            total += sum(map(row_hash, rows.to_pylist()))
    multiset = xxhash.xxh3_128_hexdigest(
        FORMAT + b"multiset\n" + shape + (total & _MASK128).to_bytes(16, "big")
    )
    return [ordered.hexdigest() if o and ordered is not None else multiset for o in orders]


def _data_of(rows: Any) -> memoryview:
    """The bytes of a large_binary array's values, end to end."""
    _, offsets, data = rows.buffers()
    if data is None or len(rows) == 0:
        return memoryview(b"")
    bounds = memoryview(offsets).cast("q")
    return memoryview(data)[bounds[rows.offset] : bounds[rows.offset + len(rows)]]


def schema_of(df: pl.DataFrame) -> list[tuple[str, str]]:
    return [(name, str(dtype)) for name, dtype in df.schema.items()]


def write_parquet(df: pl.DataFrame, path: Path) -> None:
    try:
        df.write_parquet(path, compression="zstd", statistics=True)
    except pl.exceptions.ComputeError as e:
        # polars reports the OS's refusal (a full disk: "os error 28") as a ComputeError: it is
        # the machine's answer, to be reported as writing the data failed, not as our bug
        if "os error" in str(e):
            raise OSError(f"{path}: {e}") from None
        raise


def to_polars(value: Any, what: str) -> pl.DataFrame:
    """Accept what an asset may return (polars DataFrame/LazyFrame, pyarrow Table, pandas DataFrame)."""
    if isinstance(value, pl.LazyFrame):
        value = value.collect()
    if isinstance(value, pl.DataFrame):
        if value.width == 0:
            raise TypeError(f"{what} returned a table without columns; an asset needs at least one column")
        return value
    module = type(value).__module__.split(".")[0]
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(value, pa.RecordBatch):
            value = pa.Table.from_batches([value])
        if isinstance(value, pa.Table):
            out = pl.from_arrow(value)
            assert isinstance(out, pl.DataFrame)
            return out
    if module == "pandas" and type(value).__name__ == "DataFrame":
        return pl.from_pandas(value)
    got = "None" if value is None else type(value).__name__
    raise TypeError(
        f"{what} returned {got}; an asset must return a polars DataFrame or LazyFrame, "
        "a pyarrow Table or a pandas DataFrame"
    )


def parquet_holds(path: Path, digest: str) -> bool:
    """True when the Parquet file at `path` reads back as a table with content hash `digest`,
    as an ordered table (its rows in the file's order) or as a multiset."""
    try:
        return digest in _digests(pl.read_parquet(path), (True, False))
    except Exception:  # unreadable: damaged
        return False


# -- what each column becomes ------------------------------------------------------------------

# A column's plan: its type text and how one batch of it turns into encoded pieces.
_Pieces = Callable[[pl.Series], list[Any]]


def _plan(df: pl.DataFrame) -> list[tuple[str, _Pieces | None]]:
    out = []
    for name, dtype in df.schema.items():
        try:
            text = _type_text(dtype)
        except _Unstorable as e:
            raise AssetFailure(_refusal(name, dtype, e.dtype)) from None
        out.append((text, _top_level(dtype)))
    return out


def _shape(df: pl.DataFrame, plan: list[tuple[str, _Pieces | None]]) -> bytes:
    """Rows, columns, names and type texts: what the hash covers besides the values."""
    parts = [_u64(df.height), _u64(df.width)]
    for name, (text, _) in zip(df.columns, plan, strict=True):
        for s in (name.encode(), text.encode()):
            parts += [_u64(len(s)), s]
    return b"".join(parts)


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


_SIMPLE_TEXT = {
    pl.Boolean: "bool",
    pl.Int8: "i8",
    pl.Int16: "i16",
    pl.Int32: "i32",
    pl.Int64: "i64",
    pl.Int128: "i128",
    pl.UInt8: "u8",
    pl.UInt16: "u16",
    pl.UInt32: "u32",
    pl.UInt64: "u64",
    pl.UInt128: "u128",
    pl.Float16: "f16",
    pl.Float32: "f32",
    pl.Float64: "f64",
    pl.String: "str",
    pl.Binary: "bin",
    pl.Categorical: "cat",
    pl.Date: "date",
    pl.Time: "time",
    pl.Null: "null",
}


class _Unstorable(Exception):
    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype


def _type_text(dtype: Any, top: bool = True) -> str:
    """The type's canonical text; raises _Unstorable for a type that cannot be stored."""
    for base, text in _SIMPLE_TEXT.items():
        if dtype == base:
            if not top and base in (pl.Int128, pl.UInt128):
                break
            return text
    else:
        if isinstance(dtype, pl.Datetime):
            zone = f", {dtype.time_zone}" if dtype.time_zone else ""
            return f"datetime[{dtype.time_unit}{zone}]"
        if isinstance(dtype, pl.Duration):
            return f"duration[{dtype.time_unit}]"
        if isinstance(dtype, pl.Decimal):
            return f"decimal[{dtype.precision}, {dtype.scale}]"
        if isinstance(dtype, pl.Enum):
            return "enum" + json.dumps(list(dtype.categories), ensure_ascii=False)
        if isinstance(dtype, pl.Array):
            return f"array[{_type_text(dtype.inner, False)}; {dtype.size}]"
        if isinstance(dtype, pl.List):
            return f"list[{_type_text(dtype.inner, False)}]"
        if isinstance(dtype, pl.Struct):
            fields = ", ".join(
                f"{json.dumps(f.name, ensure_ascii=False)}: {_type_text(f.dtype, False)}"
                for f in dtype.fields
            )
            return "struct{" + fields + "}"
        if _is_map(dtype):
            key, value = (_type_text(t, False) for t in (dtype.key, dtype.value))
            return f"map[{key}, {value}]"
    raise _Unstorable(dtype)


def _is_map(dtype: Any) -> bool:
    return hasattr(pl, "Map") and isinstance(dtype, pl.Map)


def _refusal(column: str, dtype: Any, inner: Any) -> str:
    if inner == pl.Object:
        why = "it holds arbitrary Python objects, which Parquet cannot store; convert them to a supported type (e.g. str)"
    elif inner in (pl.Int128, pl.UInt128):
        why = "128-bit integers cannot be stored inside lists, arrays, maps or structs; cast them to Int64 or a Decimal"
    else:
        why = f"{inner} cannot be stored; cast the column to a supported type"
    return f"column '{column}' has type {dtype}: {why}"


# -- encoding, vectorised with pyarrow ---------------------------------------------------------


def _encoded_batches(df: pl.DataFrame, plan: list[tuple[str, _Pieces | None]]) -> Iterator[Any]:
    """The rows' encodings, batch by batch, as pyarrow large_binary arrays without nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    height = df.height
    for start in range(0, height, _BATCH):
        part = df.slice(start, _BATCH)
        n = part.height
        words: list[Any] = []
        pieces: list[Any] = []
        for i, (series, (_, encode)) in enumerate(zip(part.get_columns(), plan, strict=True)):
            if i % 64 == 0:
                words.append([0, []])  # constant bits, arrays of bits
            bit = 1 << (i % 64)
            nulls = series.null_count()
            if nulls == 0:
                words[-1][0] |= bit
            elif nulls < n:
                valid = _arrow(series.is_not_null())  # from polars: not every type has an Arrow form
                words[-1][1].append(pc.multiply(pc.cast(valid, pa.uint64()), pa.scalar(bit, pa.uint64())))
            if encode is not None:
                pieces.extend(encode(series))
        heads = []
        for constant, varying in words:
            if varying:
                acc = varying[0]
                for extra in varying[1:]:
                    acc = pc.add(acc, extra)
                heads.append(_fixed_view(pc.add(acc, pa.scalar(constant, pa.uint64())), 8, n))
            else:
                heads.append(_constant_view(_u64(constant), n))
        everything = heads + pieces
        if not everything:
            yield pa.array([b""] * n, pa.large_binary())
            continue
        if len(everything) == 1:
            yield everything[0]
            continue
        yield pc.binary_join_element_wise(*everything, pa.scalar(b"", pa.large_binary()))


def _arrow(series: pl.Series) -> Any:
    arr = series.to_arrow()
    if hasattr(arr, "combine_chunks"):
        arr = arr.combine_chunks()
    return arr


@functools.lru_cache(maxsize=16)
def _stride_offsets(width: int, n: int) -> Any:
    import pyarrow as pa

    series = pl.int_range(0, (n + 1) * width, width, dtype=pl.Int64, eager=True)
    return pa.py_buffer(series.to_arrow().buffers()[1])


def _fixed_view(arr: Any, width: int, n: int) -> Any:
    """A fixed-width array without nulls (its validity is ignored) as large_binary rows of `width` bytes."""
    import pyarrow as pa

    data = arr.buffers()[1]
    if arr.type == pa.bool_():
        raise AssertionError("booleans are cast to uint8 first")
    data = data.slice(arr.offset * width, n * width)
    return pa.Array.from_buffers(pa.large_binary(), n, [None, _stride_offsets(width, n), data])


def _constant_view(value: bytes, n: int) -> Any:
    import pyarrow as pa

    data = pa.py_buffer(value * n)
    return pa.Array.from_buffers(pa.large_binary(), n, [None, _stride_offsets(len(value), n), data])


_UINT_OF_WIDTH = {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"}


def _width(dtype: Any) -> int | None:
    if dtype == pl.Boolean:
        return 1
    if dtype in (pl.Int8, pl.UInt8):
        return 1
    if dtype in (pl.Int16, pl.UInt16, pl.Float16):
        return 2
    if dtype in (pl.Int32, pl.UInt32, pl.Float32, pl.Date):
        return 4
    if dtype in (pl.Int64, pl.UInt64, pl.Float64, pl.Time) or isinstance(dtype, pl.Datetime | pl.Duration):
        return 8
    if dtype in (pl.Int128, pl.UInt128) or isinstance(dtype, pl.Decimal):
        return 16
    return None


def _bits(arr: Any, width: int) -> Any:
    """The values of a fixed-width arrow array as unsigned integers (or 16-byte binaries) of the
    same bits, validity kept, nulls set to zero."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.type == pa.bool_():
        out = pc.cast(arr, pa.uint8())
    elif width == 16:
        out = pa.Array.from_buffers(
            pa.binary(16), len(arr), [arr.buffers()[0], arr.buffers()[1]], offset=arr.offset
        )
        if arr.null_count:
            out = pc.if_else(pc.is_valid(arr), out, pa.scalar(b"\0" * 16, pa.binary(16)))
        return out
    else:
        out = pa.Array.from_buffers(
            getattr(pa, _UINT_OF_WIDTH[width])(),
            len(arr),
            [arr.buffers()[0], arr.buffers()[1]],
            offset=arr.offset,
        )
    if out.null_count:
        out = pc.fill_null(out, 0)
    return out


def _top_level(dtype: Any) -> _Pieces | None:
    """How a top-level column becomes pieces of the row encoding."""
    if dtype == pl.Null:
        return None
    width = _width(dtype)
    if width is not None:
        if dtype in (pl.Int128, pl.UInt128):
            return _int128_pieces
        return functools.partial(_fixed_pieces, width=width)
    if dtype in (pl.String, pl.Binary, pl.Categorical) or isinstance(dtype, pl.Enum):
        return _var_pieces
    return _nested_pieces


def _fixed_pieces(series: pl.Series, width: int) -> list[Any]:
    arr = _arrow(series)
    return [_fixed_view(_bits(arr, width), width, len(arr))]


def _int128_pieces(series: pl.Series) -> list[Any]:
    """Int128/UInt128 (which Arrow cannot carry) as their low and high 64 bits."""
    s = series.fill_null(0)
    two64 = pl.Series([1 << 64], dtype=s.dtype)  # polars has no 128-bit integer literals
    high = s // two64
    low = (s - high * two64).cast(pl.UInt64)
    high = high.cast(pl.Int64 if series.dtype == pl.Int128 else pl.UInt64)
    return [_fixed_view(_arrow(low), 8, len(s)), _fixed_view(_arrow(high), 8, len(s))]


def _var_pieces(series: pl.Series) -> list[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if series.dtype != pl.Binary:
        series = series.cast(pl.String)
    arr = _binary(_arrow(series))
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(b"", pa.large_binary()))
    lengths = pc.binary_length(arr)
    return [_fixed_view(lengths, 8, len(arr)), arr]


def _binary(arr: Any) -> Any:
    import pyarrow as pa

    return arr if arr.type == pa.large_binary() else arr.cast(pa.large_binary())


def _nested_pieces(series: pl.Series) -> list[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _arrow(_strings_for_categories(series))
    try:
        payload = _val(arr)
    except AssetFailure as e:
        raise AssetFailure(f"column '{series.name}' has type {series.dtype}: {e}") from None
    if payload.null_count:
        payload = pc.fill_null(payload, pa.scalar(b"", pa.large_binary()))
    return [payload]


def _strings_for_categories(series: pl.Series) -> pl.Series:
    """Categoricals and enums hash by their strings (their physical codes are not content)."""
    target = _without_categories(series.dtype)
    return series if target == series.dtype else series.cast(target)


def _without_categories(dtype: Any) -> Any:
    if dtype == pl.Categorical or isinstance(dtype, pl.Enum):
        return pl.String
    if isinstance(dtype, pl.Array):
        return pl.Array(_without_categories(dtype.inner), dtype.size)
    if isinstance(dtype, pl.List):
        return pl.List(_without_categories(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _without_categories(f.dtype) for f in dtype.fields})
    if _is_map(dtype):
        return pl.Map(_without_categories(dtype.key), _without_categories(dtype.value))
    return dtype


def _val(arr: Any) -> Any:
    """val(v) of each value of an arrow array, as large_binary; null where the value is null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.large_binary())
    if pa.types.is_map(t):
        entries = pa.struct([pa.field("key", t.key_type), pa.field("value", t.item_type)])
        arr = pa.concat_arrays([arr])  # offset 0
        as_list = pa.ListArray.from_arrays(
            arr.offsets,
            pa.StructArray.from_arrays([arr.keys, arr.items], fields=list(entries)),
            mask=arr.is_null(),
        )
        return _val(as_list)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        lengths = pc.fill_null(pc.list_value_length(arr), 0).cast(pa.int64())
        elems = _elem(arr.flatten())
        offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(lengths)])
        joined = pc.binary_join(
            pa.LargeListArray.from_arrays(offsets, elems), pa.scalar(b"", pa.large_binary())
        )
        out = pc.binary_join_element_wise(
            _fixed_view(lengths, 8, n), joined, pa.scalar(b"", pa.large_binary())
        )
        return _with_nulls_of(arr, out)
    if pa.types.is_struct(t):
        fields = [_elem(f) for f in arr.flatten()]
        if not fields:
            out = pa.array([b""] * n, pa.large_binary())
        elif len(fields) == 1:
            out = fields[0]
        else:
            out = pc.binary_join_element_wise(*fields, pa.scalar(b"", pa.large_binary()))
        return _with_nulls_of(arr, out)
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or (
            hasattr(pa.types, "is_string_view") and (pa.types.is_string_view(t) or pa.types.is_binary_view(t))
        )
    ):
        b = _binary(arr)
        return pc.binary_join_element_wise(
            _fixed_view(pc.binary_length(pc.fill_null(b, pa.scalar(b"", pa.large_binary()))), 8, n),
            b,
            pa.scalar(b"", pa.large_binary()),
        )
    width = _arrow_width(t)
    if width is None:
        raise AssetFailure(f"a nested value of type {t} cannot be stored")
    return _with_nulls_of(arr, _fixed_view(_bits(arr, width), width, n))


def _arrow_width(t: Any) -> int | None:
    import pyarrow as pa

    if t == pa.bool_():
        return 1
    if pa.types.is_decimal(t):
        return 16 if t.bit_width == 128 else None
    try:
        return int(t.bit_width) // 8
    except ValueError:
        return None


def _with_nulls_of(arr: Any, out: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not arr.null_count:
        return out
    return pc.if_else(pc.is_valid(arr), out, pa.scalar(None, pa.large_binary()))


def _elem(arr: Any) -> Any:
    """elem(v) of each value: 0x00 for a null, 0x01 val(v) otherwise (never null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    tagged = pc.binary_join_element_wise(
        _constant_view(b"\x01", n), _val(arr), pa.scalar(b"", pa.large_binary())
    )
    if tagged.null_count:
        tagged = pc.fill_null(tagged, pa.scalar(b"\x00", pa.large_binary()))
    return tagged
