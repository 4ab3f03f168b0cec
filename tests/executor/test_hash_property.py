"""Property: random tables over every type a source, a SQL asset and a Python asset all carry,
written as a Parquet source, read by `SELECT * FROM src` and by an identity Python asset.

Equal data gives equal content hashes (the three assets and the table written agree); changing
any one value changes the hash; the data read back equals the data written, value for value
(floats by bit pattern). One project is rebuilt incrementally across examples."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assetbuild
from assetbuild.executor.content import content_hash

from ._support import errors, run

pytestmark = pytest.mark.slow

IDENTITY = (
    "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
    "def py_identity(src: pl.DataFrame) -> pl.DataFrame:\n    return src\n"
)

SPECIAL_F64 = [
    0x0000000000000000,  # 0.0
    0x8000000000000000,  # -0.0
    0x7FF8000000000000,  # NaN
    0x7FF8000000000001,  # NaN with a payload
    0xFFF8000000000000,  # negative NaN
    0x7FF0000000000000,  # inf
    0x0000000000000001,  # smallest subnormal
]


def _f64_bits() -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from(SPECIAL_F64),
        st.floats(width=64).map(lambda f: struct.unpack("<Q", struct.pack("<d", f))[0]),
        st.integers(0, 2**64 - 1),
    )


# dtype name -> (polars dtype, value strategy)
TYPES: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "i64": (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
    "i32": (pl.Int32, st.integers(-(2**31), 2**31 - 1)),
    "u8": (pl.UInt8, st.integers(0, 255)),
    "u64": (pl.UInt64, st.integers(0, 2**64 - 1)),
    "f64": (pl.Float64, _f64_bits()),
    "f32": (pl.Float32, st.floats(width=32)),
    "bool": (pl.Boolean, st.booleans()),
    "str": (pl.String, st.text(max_size=6)),
    "bin": (pl.Binary, st.binary(max_size=6)),
    "date": (pl.Date, st.dates()),
    "datetime": (pl.Datetime("us"), st.datetimes()),
    "time": (pl.Time, st.times()),
    "decimal": (pl.Decimal(10, 2), st.decimals(min_value=-(10**7), max_value=10**7, places=2)),
    "list_i64": (pl.List(pl.Int64), st.lists(st.none() | st.integers(-5, 5), max_size=3)),
    "list_f64": (
        pl.List(pl.Float64),
        st.lists(st.none() | st.sampled_from([0.0, -0.0, 1.5, float("inf")]), max_size=3),
    ),
    "struct": (
        pl.Struct({"a": pl.Int64, "b": pl.String}),
        st.fixed_dictionaries({"a": st.none() | st.integers(-3, 3), "b": st.none() | st.text(max_size=3)}),
    ),
}


def _series(name: str, kind: str, values: list[Any]) -> pl.Series:
    dtype, _ = TYPES[kind]
    if kind == "f64":
        raw = pa.array(values, pa.uint64())
        return pl.Series(name, pa.Array.from_buffers(pa.float64(), len(raw), raw.buffers()))
    return pl.Series(name, values, dtype=dtype)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pl.DataFrame, list[str]]:
    kinds = draw(
        st.lists(st.sampled_from(["f64", *sorted(TYPES)]), min_size=1, max_size=4)
    )  # f64 twice as often
    height = draw(st.integers(0, 6))
    columns = []
    for i, kind in enumerate(kinds):
        values = draw(st.lists(st.none() | TYPES[kind][1], min_size=height, max_size=height))
        columns.append(_series(f"c{i}", kind, values))
    return pl.DataFrame(columns), kinds


def _canon(v: Any) -> Any:
    """A value as a hashable key in which distinct stored values stay distinct."""
    if isinstance(v, float):
        return ("f", struct.pack("<d", v))
    if isinstance(v, list):
        return ("l", tuple(_canon(x) for x in v))
    if isinstance(v, dict):
        return ("s", tuple((k, _canon(x)) for k, x in v.items()))
    if isinstance(v, decimal.Decimal):
        return ("d", v.as_tuple())
    if isinstance(v, dt.datetime | dt.date | dt.time | bytes | str | bool | int) or v is None:
        return (type(v).__name__, v)
    raise TypeError(type(v))


def _rows(df: pl.DataFrame) -> Counter:
    """The multiset of rows; floats come through `rows()` as Python floats, their bits intact."""
    return Counter(tuple(_canon(v) for v in row) for row in df.rows())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hashprop") / "p"
    (root / "assets").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "assetbuild.toml").write_text(
        '[project]\nname = "hp"\n\n[sources.src]\npath = "data/src.parquet"\n'
    )
    (root / "assets/sq.sql").write_text("SELECT * FROM src\n")
    (root / "assets/py_identity.py").write_text(IDENTITY)
    return root


def _build_and_check(root: Path, df: pl.DataFrame) -> str:
    df.write_parquet(root / "data/src.parquet")
    result = run(root)
    assert result.ok, errors(result)
    hashes = {a.name: a.content_hash for a in result.assets}
    expected = content_hash(df)
    assert hashes == {"src": expected, "sq": expected, "py_identity": expected}
    for name in ("src", "sq", "py_identity"):
        back = assetbuild.read(name, project=root)
        assert back.schema == df.schema, name
        assert _rows(back) == _rows(df), name
        assert content_hash(back) == expected
    return expected


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(table=tables(), data=st.data())
def test_equal_data_equal_hash_any_change_another_hash(project, table, data):
    df, kinds = table
    before = _build_and_check(project, df)
    # change one value (or, for an empty table, add a row)
    if df.height == 0:
        row = {f"c{i}": None for i in range(len(kinds))}
        changed = pl.concat([df, pl.DataFrame([row], schema=df.schema)])
    else:
        r = data.draw(st.integers(0, df.height - 1), label="row")
        c = data.draw(st.integers(0, len(kinds) - 1), label="column")
        column = df.get_column(f"c{c}")
        old = _rows(column.slice(r, 1).to_frame())
        kind = kinds[c]
        candidates = st.none() | TYPES[kind][1]
        if kind == "f64" and column[r] is not None:  # a near miss: one bit of the old value flipped
            a = column.to_arrow()
            bits = pa.Array.from_buffers(pa.uint64(), len(a), a.buffers(), offset=a.offset)[r].as_py()
            flip = st.sampled_from([63, 0, 51]) | st.integers(0, 63)  # sign, lowest, quiet-NaN bit
            candidates = flip.map(lambda b: bits ^ (1 << b)) | candidates
        new = data.draw(
            candidates.filter(lambda v: _rows(_series("x", kind, [v]).to_frame()) != old), label="new value"
        )
        replaced = pl.concat([column.slice(0, r), _series(column.name, kind, [new]), column.slice(r + 1)])
        changed = df.with_columns(replaced)
    assert content_hash(changed) != before
    after = _build_and_check(project, changed)
    assert after != before
