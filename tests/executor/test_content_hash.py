"""The content hash is assetbuild's own definition: it tells apart every value a downstream
computation can tell apart, is independent of the polars version, of chunking and (for a
multiset) of row order, and is pinned by a golden value."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from assetbuild.errors import AssetFailure
from assetbuild.executor.content import content_hash, parquet_holds, write_parquet

from ._reference import reference_hash


def _f64(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _frame_from_bits(bits: list[int | None]) -> pl.DataFrame:
    raw = pa.array(bits, pa.uint64())
    floats = pa.Array.from_buffers(pa.float64(), len(raw), raw.buffers())
    return pl.DataFrame({"x": pl.Series("x", floats)})


QUIET_NAN = 0x7FF8000000000000
PAYLOAD_NAN = 0x7FF8000000000001
NEGATIVE_NAN = 0xFFF8000000000000


def test_negative_zero_and_zero_hash_differently():
    assert content_hash(pl.DataFrame({"x": [0.0]})) != content_hash(pl.DataFrame({"x": [-0.0]}))
    f32 = pl.Series("x", [0.0], dtype=pl.Float32)
    assert content_hash(f32.to_frame()) != content_hash((-f32).to_frame())


def test_nan_payloads_hash_differently():
    a, b, c = (_frame_from_bits([bits]) for bits in (QUIET_NAN, PAYLOAD_NAN, NEGATIVE_NAN))
    assert math.isnan(a["x"][0]) and math.isnan(b["x"][0])
    assert len({content_hash(a), content_hash(b), content_hash(c)}) == 3
    assert content_hash(a) == content_hash(_frame_from_bits([QUIET_NAN]))


def test_floats_inside_lists_and_structs_by_bit_pattern():
    assert content_hash(pl.DataFrame({"l": [[0.0, 1.0]]})) != content_hash(pl.DataFrame({"l": [[-0.0, 1.0]]}))
    s0 = pl.DataFrame({"s": [{"a": 0.0, "b": "x"}]})
    s1 = pl.DataFrame({"s": [{"a": -0.0, "b": "x"}]})
    assert content_hash(s0) != content_hash(s1)
    arr0 = pl.DataFrame({"a": pl.Series([[0.0, 2.0]], dtype=pl.Array(pl.Float64, 2))})
    arr1 = pl.DataFrame({"a": pl.Series([[-0.0, 2.0]], dtype=pl.Array(pl.Float64, 2))})
    assert content_hash(arr0) != content_hash(arr1)
    nan_in_list = [_frame_from_bits([bits])["x"].implode().to_frame("l") for bits in (QUIET_NAN, PAYLOAD_NAN)]
    assert content_hash(nan_in_list[0]) != content_hash(nan_in_list[1])


def test_multiset_ignores_row_order_and_chunking_but_counts_duplicates():
    df = pl.DataFrame({"a": [1, 2, 3, None], "s": ["x", None, "zz", ""], "f": [0.5, -0.0, None, 2.0]})
    h = content_hash(df)
    assert content_hash(df.reverse()) == h
    assert content_hash(pl.concat([df.slice(0, 1), df.slice(1)], rechunk=False)) == h
    assert content_hash(df.slice(1).vstack(df.slice(0, 1))) == h
    two_a = pl.DataFrame({"a": [1, 1, 2]})
    assert content_hash(two_a) != content_hash(pl.DataFrame({"a": [1, 2, 2]}))
    assert content_hash(two_a) != content_hash(pl.DataFrame({"a": [1, 2]}))
    # the same cells arranged into other rows are other rows
    rows = pl.DataFrame({"a": [1, 3], "b": [2, 4]})
    assert content_hash(rows) != content_hash(pl.DataFrame({"a": [1, 3], "b": [4, 2]}))


def test_ordered_hash_sees_row_order():
    df = pl.DataFrame({"revenue": [30, 20, 10], "who": ["c", "b", "a"]})
    assert content_hash(df, ordered=True) != content_hash(df.reverse(), ordered=True)
    assert content_hash(df, ordered=True) == content_hash(
        pl.concat([df.slice(0, 2), df.slice(2)], rechunk=False), ordered=True
    )
    # an ordered table and the same rows as a multiset are different contents
    assert content_hash(df, ordered=True) != content_hash(df)


def test_nulls_empties_zeros_names_and_types_are_told_apart():
    variants = [
        pl.DataFrame({"a": pl.Series([None], dtype=pl.Int64)}),
        pl.DataFrame({"a": [0]}),
        pl.DataFrame({"a": pl.Series([0], dtype=pl.Int32)}),
        pl.DataFrame({"b": [0]}),
        pl.DataFrame({"a": [""]}),
        pl.DataFrame({"a": pl.Series([None], dtype=pl.String)}),
        pl.DataFrame({"a": [b""]}),
        pl.DataFrame({"a": [[]]}, schema={"a": pl.List(pl.Int64)}),
        pl.DataFrame({"a": [None]}, schema={"a": pl.List(pl.Int64)}),
        pl.DataFrame({"a": [[None]]}, schema={"a": pl.List(pl.Int64)}),
        pl.DataFrame({"a": [{"x": None}]}, schema={"a": pl.Struct({"x": pl.Int64})}),
        pl.DataFrame({"a": [None]}, schema={"a": pl.Struct({"x": pl.Int64})}),
        pl.DataFrame({"a": [0.0]}),
        pl.DataFrame({"a": [False]}),
        pl.DataFrame({"a": [dt.date(1970, 1, 1)]}),
        pl.DataFrame({"a": [dt.datetime(1970, 1, 1)]}),
        pl.DataFrame({"a": [dt.timedelta(0)]}),
        pl.DataFrame({"a": [decimal.Decimal("0.00")]}),
    ]
    hashes = [content_hash(v) for v in variants]
    assert len(set(hashes)) == len(hashes)
    # the boundary between strings is part of the data
    assert content_hash(pl.DataFrame({"a": ["ab"], "b": ["c"]})) != content_hash(
        pl.DataFrame({"a": ["a"], "b": ["bc"]})
    )
    assert content_hash(pl.DataFrame({"l": [["ab", "c"]]})) != content_hash(
        pl.DataFrame({"l": [["a", "bc"]]})
    )


def test_bytes_under_null_slots_do_not_matter():
    clean = pa.array([1, None, 3], pa.int64())
    buffers = clean.buffers()
    garbage = pa.py_buffer(struct.pack("<3q", 1, 12345, 3))
    dirty = pa.Array.from_buffers(pa.int64(), 3, [buffers[0], garbage])
    a = pl.DataFrame({"x": pl.Series("x", clean)})
    b = pl.DataFrame({"x": pl.Series("x", dirty)})
    assert content_hash(a) == content_hash(b)


def test_categoricals_hash_by_their_values():
    a = pl.DataFrame({"c": pl.Series(["x", "y"], dtype=pl.Categorical)})
    b = pl.DataFrame({"c": pl.Series(["y", "x"], dtype=pl.Categorical)}).reverse()
    _ = pl.Series(["q", "r", "s", "y"], dtype=pl.Categorical)  # other codes in the global cache
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a.cast({"c": pl.String}))
    e = pl.DataFrame({"c": pl.Series(["x", "y"], dtype=pl.Enum(["x", "y"]))})
    assert content_hash(e) != content_hash(
        pl.DataFrame({"c": pl.Series(["x", "y"], dtype=pl.Enum(["y", "x"]))})
    )


def test_independent_of_the_polars_version(monkeypatch):
    df = pl.DataFrame({"a": [1, 2], "s": ["x", "y"]})
    before = content_hash(df)
    monkeypatch.setattr(pl, "__version__", "99.0.0")
    assert content_hash(df) == before


SIMPLE = pl.DataFrame(
    {
        "i": pl.Series([1, None, -(2**63), 7], dtype=pl.Int64),
        "u8": pl.Series([0, 255, None, 3], dtype=pl.UInt8),
        "f": [0.0, -0.0, None, float("inf")],
        "f32": pl.Series([1.5, None, -0.0, 3.25], dtype=pl.Float32),
        "b": [True, None, False, True],
        "s": ["", None, "héllo", "x" * 40],
        "bin": [b"\x00", b"", None, b"ab"],
        "d": [dt.date(2024, 2, 29), None, dt.date(1900, 1, 1), dt.date(1970, 1, 1)],
        "dec": pl.Series([decimal.Decimal("1.25"), None, decimal.Decimal("-3.10"), decimal.Decimal("0")]),
        "l": [[1, None], [], None, [4]],
        "st": [{"p": 1, "q": "a"}, {"p": None, "q": None}, None, {"p": 2, "q": ""}],
        "ls": [[{"p": 1, "q": "a"}], None, [None], []],
        "ts": [dt.datetime(2024, 1, 1, 12, 0, 0, 5), None, dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)],
        "dur": [dt.timedelta(days=-1), None, dt.timedelta(0), dt.timedelta(microseconds=1)],
        "tm": [dt.time(0, 0), None, dt.time(23, 59, 59, 999999), dt.time(12)],
    }
)


@pytest.mark.parametrize("ordered", [False, True])
def test_matches_the_row_by_row_reference(ordered):
    assert content_hash(SIMPLE, ordered=ordered) == reference_hash(SIMPLE, ordered=ordered)
    assert content_hash(SIMPLE.head(0), ordered=ordered) == reference_hash(SIMPLE.head(0), ordered=ordered)
    wide = pl.DataFrame({f"c{i}": [i, None] for i in range(70)})  # two validity words
    assert content_hash(wide, ordered=ordered) == reference_hash(wide, ordered=ordered)


def test_golden_value():
    """Pins the definition: if this fails, the content hash changed for every table, and the
    store format (core/keys.py STORE_FORMAT) must be bumped along with this value."""
    table = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["a", None, "ccc"],
            "amount": [1.5, -0.0, None],
            "tags": [["x"], [], None],
            "when": [dt.datetime(2024, 1, 1, 12), None, dt.datetime(1999, 12, 31)],
        }
    )
    assert content_hash(table) == reference_hash(table) == "645924aa54f501d572bbf1ea9016a403"
    assert (
        content_hash(table, ordered=True)
        == reference_hash(table, ordered=True)
        == "90f55a80aa598bc6031d29397bf619b9"
    )


def test_parquet_holds_checks_the_order_of_an_ordered_digest(tmp_path: Path):
    df = pl.DataFrame({"a": [3, 1, 2]})
    path = tmp_path / "x.parquet"
    write_parquet(df, path)
    assert parquet_holds(path, content_hash(df))
    assert parquet_holds(path, content_hash(df, ordered=True))
    assert parquet_holds(path, content_hash(df.reverse()))
    assert not parquet_holds(path, content_hash(df.reverse(), ordered=True))
    assert not parquet_holds(path, content_hash(pl.DataFrame({"a": [3, 1]})))


def test_a_column_that_cannot_be_stored_is_refused_by_name():
    df = pl.DataFrame({"ok": [1], "obj": pl.Series([object()], dtype=pl.Object)})
    with pytest.raises(AssetFailure, match=r"column 'obj'.*Object"):
        content_hash(df)
