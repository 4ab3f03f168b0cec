"""A row-by-row reference of assetbuild's content hash, written from its definition (the
docstring of `assetbuild.executor.content`) with nothing but the standard library and xxhash.
The vectorised implementation must agree with it; it is slow and only for small tables."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct
from typing import Any

import polars as pl
import xxhash

_INTS = {
    pl.Int8: ("i8", "<b"),
    pl.Int16: ("i16", "<h"),
    pl.Int32: ("i32", "<i"),
    pl.Int64: ("i64", "<q"),
    pl.UInt8: ("u8", "<B"),
    pl.UInt16: ("u16", "<H"),
    pl.UInt32: ("u32", "<I"),
    pl.UInt64: ("u64", "<Q"),
}
_UNIT = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}


def type_text(t: Any) -> str:
    for k, (name, _) in _INTS.items():
        if t == k:
            return name
    simple = {
        pl.Boolean: "bool",
        pl.Int128: "i128",
        pl.UInt128: "u128",
        pl.Float16: "f16",
        pl.Float32: "f32",
        pl.Float64: "f64",
        pl.String: "str",
        pl.Binary: "bin",
        pl.Date: "date",
        pl.Time: "time",
        pl.Null: "null",
        pl.Categorical: "cat",
    }
    for k, name in simple.items():
        if t == k:
            return name
    if isinstance(t, pl.Datetime):
        return (
            f"datetime[{t.time_unit}]" if t.time_zone is None else f"datetime[{t.time_unit}, {t.time_zone}]"
        )
    if isinstance(t, pl.Duration):
        return f"duration[{t.time_unit}]"
    if isinstance(t, pl.Decimal):
        return f"decimal[{t.precision}, {t.scale}]"
    if isinstance(t, pl.Enum):
        return "enum" + json.dumps(list(t.categories))
    if isinstance(t, pl.Array):
        return f"array[{type_text(t.inner)}; {t.size}]"
    if isinstance(t, pl.List):
        return f"list[{type_text(t.inner)}]"
    if isinstance(t, pl.Struct):
        return "struct{" + ", ".join(f"{json.dumps(f.name)}: {type_text(f.dtype)}" for f in t.fields) + "}"
    raise NotImplementedError(t)


def _u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def _float_bits(t: Any, v: float) -> bytes:
    # the bit pattern polars holds; struct keeps NaN payloads and the sign of zero
    if t == pl.Float64:
        return struct.pack("<d", v)
    if t == pl.Float32:
        return struct.pack("<f", v)
    return struct.pack("<e", v)


def _fixed_width(t: Any) -> int | None:
    for k, (_, fmt) in _INTS.items():
        if t == k:
            return struct.calcsize(fmt)
    if t == pl.Boolean:
        return 1
    if t in (pl.Int128, pl.UInt128) or isinstance(t, pl.Decimal):
        return 16
    if t == pl.Float16:
        return 2
    if t == pl.Float32 or t == pl.Date:
        return 4
    if t == pl.Float64 or t == pl.Time or isinstance(t, pl.Datetime | pl.Duration):
        return 8
    return None


def val(t: Any, v: Any, raw: Any = None) -> bytes:
    """Self-delimiting encoding of a valid value. `raw` is the physical value where the Python
    value loses information (floats' bits are taken from `raw`)."""
    for k, (_, fmt) in _INTS.items():
        if t == k:
            return struct.pack(fmt, v)
    if t == pl.Boolean:
        return b"\x01" if v else b"\x00"
    if t == pl.Int128:
        return int(v).to_bytes(16, "little", signed=True)
    if t == pl.UInt128:
        return int(v).to_bytes(16, "little", signed=False)
    if t in (pl.Float16, pl.Float32, pl.Float64):
        return raw if raw is not None else _float_bits(t, v)
    if t == pl.String or t == pl.Categorical or isinstance(t, pl.Enum):
        b = v.encode("utf-8")
        return _u64(len(b)) + b
    if t == pl.Binary:
        return _u64(len(v)) + bytes(v)
    if t == pl.Date:
        return struct.pack("<i", (v - dt.date(1970, 1, 1)).days)
    if isinstance(t, pl.Datetime | pl.Duration) or t == pl.Time:
        return struct.pack("<q", v)  # the physical value (see reference_hash)
    if isinstance(t, pl.Decimal):
        unscaled = int(decimal.Decimal(v).scaleb(t.scale))
        return unscaled.to_bytes(16, "little", signed=True)
    if isinstance(t, pl.List | pl.Array):
        return _u64(len(v)) + b"".join(elem(t.inner, x) for x in v)
    if isinstance(t, pl.Struct):
        return b"".join(elem(f.dtype, v[f.name]) for f in t.fields)
    raise NotImplementedError(t)


def elem(t: Any, v: Any) -> bytes:
    if v is None:
        return b"\x00"
    if isinstance(v, float) and t in (pl.Float16, pl.Float32, pl.Float64) and math.isnan(v):
        raise NotImplementedError("NaN inside a nested value: use the physical reference")
    return b"\x01" + val(t, v)


def top(t: Any, v: Any, raw: Any = None) -> bytes:
    if t == pl.Null:
        return b""
    if v is None:
        w = _fixed_width(t)
        if w is not None:
            return b"\x00" * w
        if t in (pl.String, pl.Binary, pl.Categorical) or isinstance(t, pl.Enum):
            return _u64(0)
        return b""
    return val(t, v, raw)


def reference_hash(df: pl.DataFrame, ordered: bool = False) -> str:
    """For tables of ints, bools, floats, strings, binary, temporal values and decimals, and of
    lists and structs of those but for temporal values (other than dates) inside them."""
    h = xxhash.xxh3_128()
    h.update(b"assetbuild content 1\n")
    h.update(b"ordered\n" if ordered else b"multiset\n")
    h.update(_u64(df.height) + _u64(df.width))
    for name, t in df.schema.items():
        n, tt = name.encode(), type_text(t).encode()
        h.update(_u64(len(n)) + n + _u64(len(tt)) + tt)
    raws: dict[str, list[bytes | None]] = {}
    for name, t in df.schema.items():
        if t in (pl.Float32, pl.Float64):
            import pyarrow as pa

            arr = df.get_column(name).rechunk().to_arrow()
            width, fmt = (pa.uint64(), "<Q") if t == pl.Float64 else (pa.uint32(), "<I")
            bits = pa.Array.from_buffers(width, len(arr), arr.buffers(), offset=arr.offset)
            raws[name] = [None if x is None else struct.pack(fmt, x) for x in bits.to_pylist()]
    words = (df.width + 63) // 64
    total = 0
    temporal = [n for n, t in df.schema.items() if isinstance(t, pl.Datetime | pl.Duration) or t == pl.Time]
    physical = df.with_columns(pl.col(n).to_physical() for n in temporal)
    for i, row in enumerate(physical.iter_rows()):
        mask = [0] * words
        parts = []
        for j, ((name, t), v) in enumerate(zip(df.schema.items(), row, strict=True)):
            if v is not None:
                mask[j // 64] |= 1 << (j % 64)
            raw = raws[name][i] if name in raws else None
            parts.append(top(t, v, raw))
        enc = b"".join(_u64(m) for m in mask) + b"".join(parts)
        if ordered:
            h.update(enc)
        else:
            total += int.from_bytes(xxhash.xxh3_128_digest(enc), "big")
    if not ordered:
        h.update((total % (1 << 128)).to_bytes(16, "big"))
    return h.hexdigest()
